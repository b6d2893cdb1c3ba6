using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.System.Rules;

namespace Periscope.Agent.Collectors.System;

/// <summary>
/// The signal loop's read-only check: the node's mount table (its init's) against the kubelet, runtime and log
/// directories, judged by the collector's rule.
/// </summary>
internal sealed class ReadOnlyMountCheck(IOptions<SystemCollectorOptions> options) : ISignalCheck
{
    public string Name => "system.readonly";

    public IReadOnlyCollection<string> Covers { get; } = [FindingCodes.FsReadOnlyMount];

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.FileExists("/proc/1/mounts") || host.FileExists("/proc/mounts")
            ? CollectorSupport.Supported("a mount table")
            : CollectorSupport.Unsupported("no mount table under the host root");
    }

    public async Task CheckAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var path = context.Host.FileExists("/proc/1/mounts") ? "/proc/1/mounts" : "/proc/mounts";
        var text = await context.Host.TryReadTextAsync(path, 4 * 1024 * 1024, cancellationToken);
        if (text is null)
        {
            context.Output.MarkPartial($"{path} could not be read");
            return;
        }

        var mounts = ProcParsers.Mounts(text);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (directory, role) in SystemCollector.Roles(o))
        {
            var mount = ProcParsers.MountFor(mounts, SystemCollector.NodeRealPath(context.Host, directory));
            if (ReadOnlyMountRule.Check(context, directory, role, context.Host.DirectoryExists(directory), mount) is { } readOnly
                && reported.Add(mount!.MountPoint))
            {
                context.Output.Report(readOnly);
            }
        }
    }
}
