using Microsoft.Extensions.Logging.Abstractions;
using Periscope.Agent.Collection;
using Periscope.Agent.Redaction;
using Periscope.Bundle;

namespace Periscope.Agent.Tests;

/// <summary>Runs one collector the way the runner does (a staged output, a context), and returns what it produced.</summary>
internal static class CollectorHarness
{
    public static async Task<CollectorResult> RunAsync(
        ICollector collector, INodeFileSystem host, DateTimeOffset? since = null, DateTimeOffset? until = null, bool offline = false,
        IProcessRunner? commands = null)
    {
        var staging = Directory.CreateTempSubdirectory("periscope-collector-").FullName;
        var output = new CollectorOutput(collector.Name, staging, 16 * 1024 * 1024, Redactor.Default);
        await collector.CollectAsync(new CollectionContext
        {
            Host = host,
            Commands = commands ?? new ProcessRunner(TimeProvider.System, NullLogger<ProcessRunner>.Instance),
            Output = output,
            NodeName = "node-1",
            Since = since ?? DateTimeOffset.UnixEpoch,
            Until = until ?? DateTimeOffset.UtcNow,
            Offline = offline,
            Time = TimeProvider.System,
        }, CancellationToken.None);
        return output.Close(CollectorStatus.Ok, TimeSpan.Zero, null);
    }
}
