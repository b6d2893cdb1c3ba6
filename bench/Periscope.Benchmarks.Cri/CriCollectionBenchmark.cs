using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Agent.Collection.Cri;
using Periscope.Agent.Redaction;
using Periscope.Agent.Tests.Collectors.Containerd;
using Periscope.Bundle;

namespace Periscope.Benchmarks.Cri;

/// <summary>
/// The containerd collector's whole CRI pass (Version, Status, ListPodSandbox, ListContainers, one ContainerStatus
/// per container, ListContainerStats, ListImages, ImageFsInfo, evidence JSON) on a node with N pods of one container
/// each, served by the FAKE CRI server over a real unix socket. 250 is the most pods AKS allows per node.
/// </summary>
[MemoryDiagnoser]
public class CriCollectionBenchmark
{
    private string _root = string.Empty;
    private FakeCriServer? _server;
    private ContainerdCollector? _collector;

    [Params(250)]
    public int Pods { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("periscope-bench-cri-").FullName;
        Directory.CreateDirectory(Path.Combine(_root, "run", "containerd"));
        var state = new FakeCriState();
        for (var i = 0; i < Pods; i++)
        {
            var uid = Guid.NewGuid().ToString();
            var labels = new Dictionary<string, string>
            {
                ["io.kubernetes.pod.namespace"] = "ns-" + (i % 20).ToString(CultureInfo.InvariantCulture),
                ["io.kubernetes.pod.name"] = "pod-" + i.ToString(CultureInfo.InvariantCulture),
                ["io.kubernetes.pod.uid"] = uid,
                ["io.kubernetes.container.name"] = "app",
            };
            var sandbox = $"s{i:D5}" + new string('0', 58);
            var container = $"c{i:D5}" + new string('0', 58);
            state.Sandboxes.Add(new PodSandbox
            {
                Id = sandbox,
                Metadata = new PodSandboxMetadata { Name = labels["io.kubernetes.pod.name"], Namespace = labels["io.kubernetes.pod.namespace"], Uid = uid },
                State = PodSandboxState.SandboxReady,
                CreatedAt = 1_763_632_800_000_000_000,
                Labels = { labels },
            });
            var metadata = new ContainerMetadata { Name = "app" };
            state.Containers.Add((
                new Container { Id = container, PodSandboxId = sandbox, Metadata = metadata, State = ContainerState.ContainerRunning, CreatedAt = 1_763_632_800_000_000_000 + i, Labels = { labels }, Image = new ImageSpec { Image = "registry.example/app:1.0" } },
                new ContainerStatus { Id = container, Metadata = metadata, State = ContainerState.ContainerRunning, StartedAt = 1_763_632_800_000_000_001, Labels = { labels }, Annotations = { ["io.kubernetes.container.restartCount"] = "0" } }));
        }

        _server = await FakeCriServer.StartAsync(Path.Combine(_root, "run", "containerd", "containerd.sock"), state);
        _collector = new ContainerdCollector(Options.Create(new ContainerdCollectorOptions()), NullLogger<ContainerdCollector>.Instance);
    }

    [Benchmark]
    public async Task<int> CollectAsync()
    {
        var staging = Path.Combine(_root, "staging", Guid.NewGuid().ToString("N"));
        var output = new CollectorOutput("containerd", staging, 64 * 1024 * 1024, Redactor.Default);
        await _collector!.CollectAsync(new CollectionContext
        {
            Host = new HostRoot(_root),
            Commands = new ProcessRunner(TimeProvider.System, NullLogger<ProcessRunner>.Instance),
            Output = output,
            NodeName = "bench",
            Since = DateTimeOffset.UnixEpoch,
            Until = DateTimeOffset.UtcNow,
            Time = TimeProvider.System,
        }, CancellationToken.None);
        var result = output.Close(CollectorStatus.Ok, TimeSpan.Zero, null);
        Directory.Delete(staging, recursive: true);
        return result.Files.Count;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }
}
