using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.Containerd.Rules;
using Periscope.Bundle;
using Periscope.Agent.Collection.Cri;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Containerd;

/// <summary>
/// The signal loop's runtime check: the CRI <c>Status</c> call (one request on the socket), judged by the collector's
/// own rules — unreachable, not ready, network not ready.
/// </summary>
internal sealed class RuntimeStatusCheck(IOptions<ContainerdCollectorOptions> options) : ISignalCheck
{
    public string Name => "containerd.status";

    public IReadOnlyCollection<string> Covers { get; } = [FindingCodes.RuntimeUnreachable, FindingCodes.RuntimeNotReady, FindingCodes.RuntimeNetworkNotReady];

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var socket = options.Value.SocketPath;
        return host.FileExists(socket) || KubernetesNode.Is(host)
            ? CollectorSupport.Supported(socket)
            : CollectorSupport.Unsupported($"no CRI socket at {socket} and no kubelet on this machine");
    }

    public async Task CheckAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var socket = o.SocketPath;
        var server = new FindingSubject(SubjectKind.Server, socket);
        if (!context.Host.FileExists(socket))
        {
            context.Output.Report(RuntimeUnreachableRule.Of(context, server, "socket-missing", $"the CRI socket {socket} does not exist: containerd is not running or listens elsewhere"));
            return;
        }

        using var cri = new CriClient(context.Host.Resolve(socket), o.CallTimeout, context.Time);
        var status = await cri.CallAsync("RuntimeService/Status", c => cri.Runtime.StatusAsync(new StatusRequest(), c), cancellationToken);
        if (!status.Succeeded)
        {
            context.Output.Report(RuntimeUnreachableRule.Of(context, server, status.Reachability, $"the runtime did not answer Status on {socket}: {status.Describe()}"));
            return;
        }

        foreach (var condition in status.Response!.Status?.Conditions ?? [])
        {
            var facts = new RuntimeConditionFacts(condition.Type, condition.Status,
                string.IsNullOrEmpty(condition.Reason) ? null : condition.Reason, string.IsNullOrEmpty(condition.Message) ? null : condition.Message);
            Observations.Report(context, RuntimeConditionRule.Check(context, server, facts));
        }
    }
}
