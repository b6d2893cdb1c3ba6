using Periscope.Collector.Sources;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Sources;

/// <summary>The collector's cluster-scoped reads against the fake API server: paged lists only, pods as a Table.</summary>
public sealed class ClusterReaderTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private FakeKubernetesApi _api = null!;

    public async ValueTask InitializeAsync() => _api = await FakeKubernetesApi.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    private ClusterReader Reader() => new(_api.WriteKubeconfig(_temp.Combine("kubeconfig")));

    [Fact]
    public async Task Read_PodsAsATable_PagedAndWithoutTheirSpecs_PdbsAndNodeEvents()
    {
        for (var i = 0; i < 1201; i++)
        {
            _api.PutPod("shop", $"web-7d9f-{i:D5}", new Dictionary<string, string> { ["app"] = "web" }, $"aks-user-{i % 3}");
        }

        _api.PutPod("kube-system", "kube-proxy-abcde", new Dictionary<string, string> { ["k8s-app"] = "kube-proxy" }, "aks-user-0", "DaemonSet");
        _api.PutPod("shop", "pending-0", new Dictionary<string, string> { ["app"] = "batch" }, node: null, phase: "Pending");
        _api.PutPdb("shop", "web", new Dictionary<string, string> { ["app"] = "web" }, disruptionsAllowed: 0, expectedPods: 1201);
        _api.PutNodeEvent("aks-user-1", "NodeRebootStart", "aks-auto-repair", "Node reboot started by auto-repair", new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero));

        var state = await Reader().ReadAsync(TestContext.Current.CancellationToken);

        Assert.Empty(state.Errors);
        Assert.Equal(1203, state.Pods.Count);
        var web = state.Pods.Single(p => p.Name == "web-7d9f-00004");
        Assert.Equal(("shop", "aks-user-1", "Running", "ReplicaSet", "web"), (web.Namespace, web.Node, web.Status, web.OwnerKind, web.Labels["app"]));
        Assert.Null(state.Pods.Single(p => p.Name == "pending-0").Node); // <none> in the Node column
        Assert.Equal("DaemonSet", state.Pods.Single(p => p.Name == "kube-proxy-abcde").OwnerKind);
        var pdb = Assert.Single(state.Pdbs);
        Assert.Equal((0, 1201), (pdb.DisruptionsAllowed, pdb.ExpectedPods));
        Assert.True(pdb.Selector.Matches(web.Labels));
        var repair = Assert.Single(state.NodeEvents);
        Assert.Equal(("aks-user-1", "NodeRebootStart", "aks-auto-repair"), (repair.Node, repair.Reason, repair.Source));

        // Paged lists only: three pages of pods, one of budgets, one of events; every pod request asked for the Table.
        var requests = _api.Requests;
        Assert.Equal(3, requests.Count(r => r.Kind == "list-pods-table"));
        Assert.DoesNotContain(requests, r => r.Kind == "list-pods");
        Assert.All(requests.Where(r => r.Kind == "list-pods-table"), r => Assert.Contains("as=Table;v=v1;g=meta.k8s.io", r.ContentType, StringComparison.Ordinal));
        Assert.Equal("involvedObject.kind=Node", Assert.Single(requests, r => r.Kind == "list-events").FieldSelector);
        Assert.Single(requests, r => r.Kind == "list-pdbs");
        Assert.Equal(5, state.Requests);
    }

    [Fact]
    public async Task Read_ForbiddenPods_IsExplained_AndTheOtherReadsGoOn()
    {
        _api.PutPdb("shop", "web", new Dictionary<string, string> { ["app"] = "web" }, 0, 1);
        _api.ForbiddenResources.Add("pods");

        var state = await Reader().ReadAsync(TestContext.Current.CancellationToken);

        var error = Assert.Single(state.Errors);
        Assert.Contains("pods", error, StringComparison.Ordinal);
        Assert.Contains("403", error, StringComparison.Ordinal);
        Assert.Single(state.Pdbs);
        Assert.Empty(state.Pods);
    }

    [Theory]
    [InlineData("In", "web", true)]
    [InlineData("In", "db", false)]
    [InlineData("NotIn", "db", true)]
    [InlineData("Exists", null, true)]
    [InlineData("DoesNotExist", null, false)]
    public void Selector_MatchExpressions(string op, string? value, bool matches)
    {
        var selector = new LabelSelector(new Dictionary<string, string>(), [new LabelRequirement("app", op, value is null ? [] : [value])]);

        Assert.Equal(matches, selector.Matches(new Dictionary<string, string> { ["app"] = "web" }));
    }

    [Fact]
    public void Selector_AbsentSelectsNothing_EmptySelectsEverything()
    {
        var labels = new Dictionary<string, string> { ["app"] = "web" };

        Assert.False(new LabelSelector(new Dictionary<string, string>(), [], Empty: true).Matches(labels));
        Assert.True(new LabelSelector(new Dictionary<string, string>(), []).Matches(labels));
    }
}
