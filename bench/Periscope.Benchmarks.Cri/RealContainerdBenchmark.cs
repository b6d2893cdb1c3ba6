using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Cri;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Agent.Redaction;
using Periscope.Agent.Tests.Collectors.Containerd;
using Periscope.Bundle;

namespace Periscope.Benchmarks.Cri;

/// <summary>
/// The same CRI pass against a real containerd (Debian's, started with the test fixture's private config) holding
/// N host-network pods of one running busybox container each. Needs root, containerd, runc and busybox-static.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes through GlobalCleanup.")]
public class RealContainerdBenchmark
{
    private readonly RealContainerd _containerd = new();
    private ContainerdCollector? _collector;
    private string _staging = string.Empty;

    [Params(250)]
    public int Pods { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        await _containerd.InitializeAsync();
        if (_containerd.Missing is not null)
        {
            throw new InvalidOperationException(_containerd.Missing);
        }

        using var cri = new CriClient(_containerd.Socket, TimeSpan.FromSeconds(120));
        await Parallel.ForEachAsync(Enumerable.Range(0, Pods), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var sandbox = await _containerd.RunSandboxAsync(cri, "ns-" + (i % 20).ToString(CultureInfo.InvariantCulture), "pod-" + i.ToString(CultureInfo.InvariantCulture), Guid.NewGuid().ToString());
            await RealContainerd.StartContainerAsync(cri, sandbox, "app", 0, ["/bin/busybox", "sleep", "3600"]);
        });

        _staging = Directory.CreateTempSubdirectory("periscope-bench-real-").FullName;
        _collector = new ContainerdCollector(Options.Create(new ContainerdCollectorOptions { SocketPath = _containerd.Socket }), NullLogger<ContainerdCollector>.Instance);
    }

    [Benchmark]
    public async Task<int> CollectAsync() => (await RunPassAsync()).Containers.Count;

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        // Where the time goes: the slowest CRI calls of one more pass (printed into the BenchmarkDotNet log).
        var facts = await RunPassAsync();
        foreach (var group in facts.Calls.GroupBy(c => c.Method).OrderByDescending(g => g.Sum(c => c.DurationMs)))
        {
            Console.WriteLine($"// calls {group.Key}: {group.Count()} calls, total {group.Sum(c => c.DurationMs):0} ms, max {group.Max(c => c.DurationMs):0} ms");
        }

        await _containerd.DisposeAsync();
        Directory.Delete(_staging, recursive: true);
    }

    private async Task<Periscope.Bundle.Facts.ContainerdFacts> RunPassAsync()
    {
        var staging = Path.Combine(_staging, Guid.NewGuid().ToString("N"));
        var output = new CollectorOutput("containerd", staging, 64 * 1024 * 1024, Redactor.Default);
        await _collector!.CollectAsync(new CollectionContext
        {
            Host = new HostRoot("/"),
            Commands = new ProcessRunner(TimeProvider.System, NullLogger<ProcessRunner>.Instance),
            Output = output,
            NodeName = "bench",
            Since = DateTimeOffset.UtcNow.AddMinutes(-5),
            Until = DateTimeOffset.UtcNow,
            Time = TimeProvider.System,
        }, CancellationToken.None);
        var result = output.Close(CollectorStatus.Ok, TimeSpan.Zero, null);
        Directory.Delete(staging, recursive: true);
        return (Periscope.Bundle.Facts.ContainerdFacts)result.Facts!;
    }
}
