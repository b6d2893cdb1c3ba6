using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.Kubelet.Rules;

namespace Periscope.Agent.Collectors.Kubelet;

/// <summary>The signal loop's kubelet check: its process in the host's process table and its healthz, judged by the collector's rules.</summary>
internal sealed class KubeletHealthCheck(IOptions<KubeletCollectorOptions> options) : ISignalCheck
{
    public string Name => "kubelet.health";

    public IReadOnlyCollection<string> Covers { get; } = [FindingCodes.KubeletNotRunning, FindingCodes.KubeletUnhealthy];

    public CollectorSupport CheckSupport(INodeFileSystem host)
        => KubernetesNode.Is(host, options.Value.ConfigPath)
            ? CollectorSupport.Supported("a Kubernetes node")
            : CollectorSupport.Unsupported("not a Kubernetes node");

    public async Task CheckAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var process = KubeletProcess.Find(context.Host);
        Observations.Report(context, KubeletNotRunningRule.Check(context, process is not null));
        if (process is not null)
        {
            Observations.Report(context, KubeletUnhealthyRule.Check(context, await KubeletHealthz.ProbeAsync(options.Value, context.Time, cancellationToken)));
        }
    }
}
