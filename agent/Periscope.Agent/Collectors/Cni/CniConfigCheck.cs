using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.Cni.Rules;

namespace Periscope.Agent.Collectors.Cni;

/// <summary>The signal loop's CNI check: is there a configuration at all (the directory read, no plugin run, no rule dump).</summary>
internal sealed class CniConfigCheck(IOptions<CniCollectorOptions> options) : ISignalCheck
{
    public string Name => "cni.config";

    public IReadOnlyCollection<string> Covers { get; } = [FindingCodes.CniConfigMissing];

    public CollectorSupport CheckSupport(INodeFileSystem host)
        => KubernetesNode.Is(host, options.Value.KubeletConfigPath)
            ? CollectorSupport.Supported("a Kubernetes node")
            : CollectorSupport.Unsupported("not a Kubernetes node: a missing CNI config is not a fault here");

    public async Task CheckAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var configs = await CniConfigs.ReadAsync(context.Host, o.ConfDirectory, cancellationToken);
        Observations.Report(context, CniConfigMissingRule.Check(context, o.ConfDirectory, configs.Count, isNode: true));
    }
}
