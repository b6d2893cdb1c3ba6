using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Agent.Collection.Cri;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Containerd;

public sealed class ContainerdCollectorTests
{
    private const string Socket = "/run/containerd/containerd.sock";

    [Fact]
    public async Task Collect_SocketThatAcceptsAndStaysSilent_EndsWithinTheCallDeadlineAsTimedOut()
    {
        using var root = new NodeRoot().Dir("/run/containerd");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(root.Real(Socket)));
        listener.Listen(16); // the kernel accepts connections into the backlog; nobody ever answers
        var stopwatch = Stopwatch.StartNew();

        var (observations, facts, _) = await CollectAsync(root, new ContainerdCollectorOptions { CallTimeout = TimeSpan.FromMilliseconds(500) });

        stopwatch.Stop();
        var unreachable = Assert.Single(observations);
        Assert.Equal("RUNTIME_UNREACHABLE", unreachable.Code);
        Assert.Equal("timed-out", unreachable.Attributes["reachability"]);
        Assert.Equal("timed-out", facts.Reachability);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Collect_SocketFileWithNobodyListening_IsRefused()
    {
        using var root = new NodeRoot().Dir("/run/containerd");
        using var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bound.Bind(new UnixDomainSocketEndPoint(root.Real(Socket))); // bound but never listening: connect is refused

        var (observations, _, _) = await CollectAsync(root, new ContainerdCollectorOptions { CallTimeout = TimeSpan.FromSeconds(2) });

        var unreachable = Assert.Single(observations);
        Assert.Equal("refused", unreachable.Attributes["reachability"]);
        Assert.Contains("refused", unreachable.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_NodeWithoutSocket_ReportsItMissing_AndAPlainMachineSkips()
    {
        using var node = new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n");
        using var laptop = new NodeRoot();
        var collector = NewCollector(new ContainerdCollectorOptions());

        var (observations, facts, _) = await CollectAsync(node, new ContainerdCollectorOptions());

        Assert.Equal("socket-missing", Assert.Single(observations).Attributes["reachability"]);
        Assert.Equal("socket-missing", facts.Reachability);
        Assert.False(collector.CheckSupport(new HostRoot(laptop.Path)).IsSupported);
        Assert.True(collector.CheckSupport(new HostRoot(node.Path)).IsSupported);
    }

    [Fact]
    public async Task Collect_FakeRuntimeWithProblems_RaisesEachFindingNamingNamespacePodAndContainer()
    {
        using var root = new NodeRoot().Dir("/run/containerd").File("/var/log/pods/shop_cart-1_u2/cart/5.log", "panic: cannot reach db\n");
        var state = new FakeCriState();
        state.Status.Status.Conditions[1] = new RuntimeCondition { Type = "NetworkReady", Status = false, Reason = "NetworkPluginNotReady", Message = "Network plugin returns error: cni plugin not initialized" };
        state.Status.Info["config"] = "{\"registry\":{\"configs\":{\"myacr.azurecr.io\":{\"auth\":{\"password\":\"s3cret\"}}}}}";
        state.Status.Info["lastCNILoadStatus"] = "cni config load failed: no network config found in /etc/cni/net.d";
        state.Sandboxes.Add(Sandbox("s-old", "shop", "web-1", "u1", attempt: 0, ready: false));
        state.Sandboxes.Add(Sandbox("s-new", "shop", "web-1", "u1", attempt: 1, ready: false));
        state.Sandboxes.Add(Sandbox("s-ok", "shop", "cart-1", "u2", attempt: 0, ready: true));
        state.Containers.Add(Container("c-crash", "s-ok", "shop", "cart-1", "u2", "cart", attempt: 5, restarts: 5, ContainerState.ContainerExited, exitCode: 1, reason: "Error", logPath: "/var/log/pods/shop_cart-1_u2/cart/5.log"));
        state.Containers.Add(Container("c-oom", "s-ok", "shop", "cart-1", "u2", "cache", attempt: 0, restarts: 0, ContainerState.ContainerExited, exitCode: 137, reason: "OOMKilled"));
        state.Containers.Add(Container("c-run", "s-ok", "shop", "cart-1", "u2", "sidecar", attempt: 0, restarts: 0, ContainerState.ContainerRunning, exitCode: 0, reason: null));
        await using var server = await FakeCriServer.StartAsync(root.Real(Socket), state);

        var (observations, facts, result) = await CollectAsync(root, new ContainerdCollectorOptions());

        Assert.Equal(
            ["CONTAINER_CRASHLOOP", "CONTAINER_OOMKILLED", "RUNTIME_NETWORK_NOT_READY", "SANDBOX_NOT_READY"],
            observations.Select(o => o.Code).Order());
        var network = observations.Single(o => o.Code == "RUNTIME_NETWORK_NOT_READY");
        Assert.Contains("cni plugin not initialized", network.Attributes["message"], StringComparison.Ordinal);
        var crash = observations.Single(o => o.Code == "CONTAINER_CRASHLOOP");
        Assert.Equal(new FindingSubject(SubjectKind.Container, "shop/cart-1/cart"), crash.Subject);
        Assert.Equal(("shop", "cart-1", "cart", "5", "1"), (crash.Attributes["namespace"], crash.Attributes["pod"], crash.Attributes["container"], crash.Attributes["restartCount"], crash.Attributes["exitCode"]));
        Assert.Equal("c-oom", observations.Single(o => o.Code == "CONTAINER_OOMKILLED").Attributes["containerId"]);
        Assert.Equal("u1", observations.Single(o => o.Code == "SANDBOX_NOT_READY").Subject.Id);

        Assert.Equal("fake-containerd", facts.RuntimeName);
        Assert.Equal(3, facts.Containers.Count);
        Assert.Equal("/var/log/pods/shop_cart-1_u2/cart/5.log", facts.Containers.Single(c => c.Id == "c-crash").LogPath);
        var staged = result.Files.ToDictionary(f => f.BundlePath, f => File.ReadAllText(f.StagedPath));
        Assert.Equal("panic: cannot reach db\n", staged["containerd/logs/shop_cart-1_cart_5.log"]);
        Assert.DoesNotContain("s3cret", staged["containerd/status.json"], StringComparison.Ordinal);
        Assert.Contains("no network config found", staged["containerd/status.json"], StringComparison.Ordinal);
        Assert.All(facts.Calls, c => Assert.Equal("ok", c.Outcome));
    }

    [Fact]
    public async Task Collect_SlowCall_RaisesRuntimeApiSlowWithTheMethod()
    {
        using var root = new NodeRoot().Dir("/run/containerd");
        await using var server = await FakeCriServer.StartAsync(root.Real(Socket), new FakeCriState { ListContainersDelay = TimeSpan.FromMilliseconds(400) });

        var (observations, _, _) = await CollectAsync(root, new ContainerdCollectorOptions { SlowCallThreshold = TimeSpan.FromMilliseconds(200) });

        var slow = Assert.Single(observations);
        Assert.Equal("RUNTIME_API_SLOW", slow.Code);
        Assert.Equal("RuntimeService/ListContainers", slow.Attributes["method"]);
    }

    [Fact]
    public async Task Collect_KilledExitWithoutOomReason_IsAnOomKillForTheKernelToConfirm()
    {
        using var root = new NodeRoot().Dir("/run/containerd");
        var state = new FakeCriState();
        state.Sandboxes.Add(Sandbox("s1", "shop", "cache-1", "u3", attempt: 0, ready: true));
        state.Containers.Add(Container("c-killed", "s1", "shop", "cache-1", "u3", "cache", attempt: 0, restarts: 0, ContainerState.ContainerExited, exitCode: 137, reason: "Error"));
        await using var server = await FakeCriServer.StartAsync(root.Real(Socket), state);

        var (observations, _, _) = await CollectAsync(root, new ContainerdCollectorOptions());

        var killed = Assert.Single(observations);
        Assert.Equal(("CONTAINER_OOMKILLED", "c-killed", "true"), (killed.Code, killed.Attributes["containerId"], killed.Attributes[Periscope.Agent.Analysis.NodeAnalyzer.ConfirmByKernel]));
        Assert.Contains("did not record the OOM kill", killed.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_HealthyRuntime_RaisesNothing()
    {
        using var root = new NodeRoot().Dir("/run/containerd");
        var state = new FakeCriState();
        state.Sandboxes.Add(Sandbox("s1", "kube-system", "coredns-1", "u9", attempt: 0, ready: true));
        state.Sandboxes.Add(Sandbox("s0", "batch", "job-1", "u8", attempt: 0, ready: false)); // a finished pod
        state.Containers.Add(Container("c1", "s1", "kube-system", "coredns-1", "u9", "coredns", attempt: 0, restarts: 0, ContainerState.ContainerRunning, 0, null));
        state.Containers.Add(Container("c0", "s0", "batch", "job-1", "u8", "job", attempt: 0, restarts: 0, ContainerState.ContainerExited, 0, "Completed"));
        await using var server = await FakeCriServer.StartAsync(root.Real(Socket), state);

        var (observations, facts, result) = await CollectAsync(root, new ContainerdCollectorOptions());

        Assert.Empty(observations);
        Assert.Equal("ok", facts.Reachability);
        Assert.DoesNotContain(result.Files, f => f.BundlePath.StartsWith("containerd/logs/", StringComparison.Ordinal));
    }

    private static PodSandbox Sandbox(string id, string ns, string pod, string uid, uint attempt, bool ready) => new()
    {
        Id = id,
        Metadata = new PodSandboxMetadata { Name = pod, Namespace = ns, Uid = uid, Attempt = attempt },
        State = ready ? PodSandboxState.SandboxReady : PodSandboxState.SandboxNotready,
        CreatedAt = 1_763_632_800_000_000_000 + attempt,
    };

    private static (Container, ContainerStatus) Container(
        string id, string sandbox, string ns, string pod, string uid, string name, uint attempt, int restarts, ContainerState state, int exitCode, string? reason, string? logPath = null)
    {
        var labels = new Dictionary<string, string>
        {
            ["io.kubernetes.pod.namespace"] = ns,
            ["io.kubernetes.pod.name"] = pod,
            ["io.kubernetes.pod.uid"] = uid,
            ["io.kubernetes.container.name"] = name,
        };
        var annotations = new Dictionary<string, string> { ["io.kubernetes.container.restartCount"] = restarts.ToString(global::System.Globalization.CultureInfo.InvariantCulture) };
        var container = new Container
        {
            Id = id,
            PodSandboxId = sandbox,
            Metadata = new ContainerMetadata { Name = name, Attempt = attempt },
            Image = new ImageSpec { Image = "busybox:1.36" },
            State = state,
            CreatedAt = 1_763_632_800_000_000_000,
            Labels = { labels },
            Annotations = { annotations },
        };
        var status = new ContainerStatus
        {
            Id = id,
            Metadata = container.Metadata,
            State = state,
            CreatedAt = container.CreatedAt,
            StartedAt = container.CreatedAt + 1,
            FinishedAt = state == ContainerState.ContainerExited ? container.CreatedAt + 2 : 0,
            ExitCode = exitCode,
            Reason = reason ?? string.Empty,
            Labels = { labels },
            Annotations = { annotations },
            LogPath = logPath ?? string.Empty,
        };
        return (container, status);
    }

    private static ContainerdCollector NewCollector(ContainerdCollectorOptions options)
        => new(Options.Create(options), NullLogger<ContainerdCollector>.Instance);

    private static async Task<(IReadOnlyList<Observation> Observations, ContainerdFacts Facts, CollectorResult Result)> CollectAsync(NodeRoot root, ContainerdCollectorOptions options)
    {
        var result = await CollectorHarness.RunAsync(NewCollector(options), new HostRoot(root.Path));
        return (result.Observations, (ContainerdFacts)result.Facts!, result);
    }
}
