using System.Net;
using System.Net.Sockets;
using Periscope.Collector.Sources;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Sources;

/// <summary>The expected nodes from the Kubernetes API, against the fake API server (no kube-apiserver runs here).</summary>
public sealed class KubernetesNodeListTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private FakeKubernetesApi _api = null!;

    public async ValueTask InitializeAsync() => _api = await FakeKubernetesApi.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    private KubernetesNodeList Lister(string? token = null) => new(_api.WriteKubeconfig(_temp.Combine("kubeconfig"), token), KubernetesNodeList.DefaultLabelSelector);

    [Fact]
    public async Task List_LargeCluster_ReadsEveryPage_WithTheSelector_WithoutVirtualNodes()
    {
        for (var i = 0; i < 1201; i++)
        {
            _api.PutNode($"aks-pool{i % 3}-{i:D5}", new Dictionary<string, string> { ["kubernetes.azure.com/agentpool"] = $"pool{i % 3}" });
        }

        _api.PutNode("akswin000000", new Dictionary<string, string> { ["kubernetes.io/os"] = "windows" });
        _api.PutNode("virtual-node-aci-linux", new Dictionary<string, string> { ["type"] = "virtual-kubelet" });

        var nodes = await Lister().ListAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1201, nodes.Count);
        Assert.Equal("aks-pool0-00000", nodes[0].Name);
        Assert.All(nodes, n => Assert.Equal($"pool{int.Parse(n.Name[^5..], System.Globalization.CultureInfo.InvariantCulture) % 3}", n.Pool));
        var pages = _api.Requests.Where(r => r.Kind == "list-nodes").ToList();
        Assert.Equal(3, pages.Count); // 500 + 500 + 201
        Assert.All(pages, p => Assert.Equal("kubernetes.io/os=linux", p.FieldSelector));
        Assert.Equal("", pages[0].ResourceVersion); // the continue token: none first, then the server's
        Assert.All(pages.Skip(1), p => Assert.NotEmpty(p.ResourceVersion));
    }

    [Fact]
    public async Task List_ACordonedNode_IsCordonedAtLeastSinceItsManagedFieldsSaySo_AndKeepsItsTaints()
    {
        var cordonedAt = new DateTimeOffset(2026, 12, 3, 9, 30, 0, TimeSpan.Zero);
        _api.PutNode("aks-pool0-00000", unschedulable: true, cordonedAt: cordonedAt,
            taints: [("node.kubernetes.io/unschedulable", null, "NoSchedule"), ("CriticalAddonsOnly", "true", "NoSchedule")]);
        _api.PutNode("aks-pool0-00001", unschedulable: true); // cordoned, but no manager's entry owns the field
        _api.PutNode("aks-pool0-00002");

        var nodes = await Lister().ListAsync(TestContext.Current.CancellationToken);

        Assert.Equal((true, (DateTimeOffset?)cordonedAt), (nodes[0].Cordoned, nodes[0].CordonedBy));
        Assert.Equal([new NodeTaint("node.kubernetes.io/unschedulable", null, "NoSchedule"), new NodeTaint("CriticalAddonsOnly", "true", "NoSchedule")], nodes[0].Taints);
        Assert.Equal((true, (DateTimeOffset?)null), (nodes[1].Cordoned, nodes[1].CordonedBy));
        Assert.Equal((false, (DateTimeOffset?)null), (nodes[2].Cordoned, nodes[2].CordonedBy));
        Assert.Empty(nodes[2].Taints);
    }

    [Fact]
    public async Task List_KeepsTheConditionsPeriscopeOwns_AndNoOther()
    {
        _api.PutNode("aks-pool0-00000");
        _api.SetNodeCondition("aks-pool0-00000", new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "PeriscopeKernelLockup", ["status"] = "True", ["reason"] = "KernelSoftLockup", ["message"] = "periscope-agent: KERNEL_SOFT_LOCKUP on the node: x",
            ["lastHeartbeatTime"] = "2026-12-04T08:00:00Z", ["lastTransitionTime"] = "2026-12-04T07:00:00Z",
        });
        _api.SetNodeCondition("aks-pool0-00000", new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "KernelDeadlock", ["status"] = "False", ["reason"] = "KernelHasNoDeadlock", ["message"] = "kernel has no deadlock",
            ["lastHeartbeatTime"] = "2026-12-04T08:00:00Z", ["lastTransitionTime"] = "2026-12-04T07:00:00Z",
        });

        var node = Assert.Single(await Lister().ListAsync(TestContext.Current.CancellationToken));

        var owned = Assert.Single(node.OwnedConditions);
        Assert.Equal(("PeriscopeKernelLockup", "True", "KernelSoftLockup"), (owned.Type, owned.Status, owned.Reason));
        Assert.Equal(DateTimeOffset.Parse("2026-12-04T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture), owned.LastHeartbeatTime);
    }

    [Fact]
    public async Task List_KeepsProblemDetectorConditionsThatAreTrue_AndTheQuarantineLabel()
    {
        _api.PutNode("aks-pool0-00000", new Dictionary<string, string> { ["kubernetes.azure.com/upgrade-status"] = "Quarantined" }, unschedulable: true);
        _api.SetNodeCondition("aks-pool0-00000", new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "KernelDeadlock", ["status"] = "True", ["reason"] = "DockerHung", ["message"] = "task docker:7 blocked for more than 300 seconds.",
            ["lastHeartbeatTime"] = "2026-12-04T08:00:00Z", ["lastTransitionTime"] = "2026-12-04T07:00:00Z",
        });
        _api.SetNodeCondition("aks-pool0-00000", new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "ReadonlyFilesystem", ["status"] = "False", ["reason"] = "FilesystemIsNotReadOnly", ["message"] = "Filesystem is not read-only",
            ["lastHeartbeatTime"] = "2026-12-04T08:00:00Z", ["lastTransitionTime"] = "2026-12-04T07:00:00Z",
        });
        _api.PutNode("aks-pool0-00001", new Dictionary<string, string> { ["kubernetes.azure.com/upgrade-status"] = "Upgraded" });

        var nodes = await Lister().ListAsync(TestContext.Current.CancellationToken);

        var problem = Assert.Single(nodes[0].ProblemConditions); // not the kubelet's Ready, not a False one
        Assert.Equal(("KernelDeadlock", "DockerHung"), (problem.Type, problem.Reason));
        Assert.Equal(DateTimeOffset.Parse("2026-12-04T07:00:00Z", System.Globalization.CultureInfo.InvariantCulture), problem.Since);
        Assert.True(nodes[0].Quarantined);
        Assert.False(nodes[1].Quarantined);
        Assert.Empty(nodes[1].ProblemConditions);
    }

    [Fact]
    public async Task List_ReadsReadinessCordonAndCreation()
    {
        var created = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
        _api.PutNode("ready", new Dictionary<string, string> { ["agentpool"] = "legacy" }, created: created);
        _api.PutNode("down", ready: "False", unschedulable: true, created: created);
        _api.PutNode("lost", ready: "Unknown", reason: "NodeStatusUnknown", created: created);

        var nodes = (await Lister().ListAsync(TestContext.Current.CancellationToken)).ToDictionary(n => n.Name);

        Assert.Equal((true, "legacy", false, created), (nodes["ready"].Ready, nodes["ready"].Pool, nodes["ready"].Cordoned, nodes["ready"].Created));
        Assert.Null(nodes["ready"].NotReadyReason);
        Assert.Equal((false, true), (nodes["down"].Ready, nodes["down"].Cordoned));
        Assert.Equal("Ready=False (KubeletNotReady) since 2026-11-30T08:00:00Z", nodes["down"].NotReadyReason);
        Assert.Null(nodes["lost"].Ready);
        Assert.StartsWith("Ready=Unknown (NodeStatusUnknown)", nodes["lost"].NotReadyReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_Forbidden_SaysWhichPermissionIsMissing()
    {
        _api.PutNode("n1");
        _api.ForcedStatus = 403;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Lister().ListAsync(TestContext.Current.CancellationToken));

        Assert.Contains("grant list on nodes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_WrongToken_Is401Explained()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Lister("not-the-token").ListAsync(TestContext.Current.CancellationToken));

        Assert.Contains("(401)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_ApiThatNeverAnswers_FailsWithinItsTimeout()
    {
        // Accepts connections and never answers: a hung API server, or a black-holed route to it.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<Socket>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Add(await silent.AcceptSocketAsync());
            }
        });
        var kubeconfig = _temp.Combine("silent-kubeconfig");
        File.WriteAllText(kubeconfig, File.ReadAllText(_api.WriteKubeconfig(_temp.Combine("kubeconfig")))
            .Replace(_api.BaseAddress.ToString().TrimEnd('/'), $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}", StringComparison.Ordinal));

        var lister = new KubernetesNodeList(kubeconfig, KubernetesNodeList.DefaultLabelSelector, TimeSpan.FromSeconds(1));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => lister.ListAsync(TestContext.Current.CancellationToken));

        Assert.Contains("did not answer the nodes list within 1 s", error.Message, StringComparison.Ordinal);
        silent.Stop();
        accepted.ForEach(s => s.Dispose());
    }
}
