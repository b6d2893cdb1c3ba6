using Periscope.Bundle;
using Periscope.Collector.Correlation.Rules;
using Periscope.Collector.Sources;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class UpgradeBlockersRuleTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 4, 9, 0, 0, TimeSpan.Zero);

    private static PodRef Pod(string ns, string name, string? node, string app, string? owner = "ReplicaSet", string status = "Running")
        => new(ns, name, new Dictionary<string, string> { ["app"] = app }, owner, name, node, status);

    private static PdbState Pdb(string ns, string name, string app, int allowed, int expected)
        => new(ns, name, allowed, expected, new LabelSelector(new Dictionary<string, string> { ["app"] = app }, []));

    private static ExpectedNodes Cluster(IReadOnlyList<ExpectedNode> nodes, ClusterState state) => new(ExpectedNodes.Kubernetes, nodes) { Cluster = state };

    [Fact]
    public void PdbAllowingNoDisruption_OnANodeBeingDrained_BlocksTheUpgrade_ElsewhereIsOnlyInfo()
    {
        var nodes = new[]
        {
            new ExpectedNode("u1", "user", true, Cordoned: true) { Quarantined = true },
            new ExpectedNode("u2", "user", true),
            new ExpectedNode("u3", "user", true, Cordoned: true) { ScaleDownDisabled = true },
        };
        var state = new ClusterState(
            [Pdb("shop", "db", "db", 0, 1), Pdb("shop", "cache", "cache", 0, 1), Pdb("shop", "web", "web", 1, 3)],
            [Pod("shop", "db-0", "u1", "db"), Pod("shop", "cache-0", "u2", "cache"), Pod("shop", "web-1", "u3", "web"), Pod("other", "db-0", "u3", "db")],
            [], 3, []);

        var findings = new UpgradeBlockersRule().Evaluate(Context([Node("u1", pool: "user"), Node("u2", pool: "user")], expected: Cluster(nodes, state))).ToList();

        var blocked = Assert.Single(findings, f => f.Code == "UPGRADE_BLOCKED_BY_PDB");
        Assert.Equal((Severity.Warning, "node"), (blocked.Severity, blocked.Scope));
        Assert.Equal(["u1"], blocked.Nodes);
        Assert.Contains("shop/db", blocked.Title, StringComparison.Ordinal);
        Assert.Contains("db-0 on u1", blocked.Detail, StringComparison.Ordinal);
        Assert.Equal("quarantined by an upgrade", Assert.Single(blocked.Evidence).Note);
        var info = Assert.Single(findings, f => f.Code == "PDB_BLOCKS_DRAIN"); // cache on u2: no drain there; web allows one
        Assert.Equal(Severity.Info, info.Severity);
        Assert.Equal(["u2"], info.Nodes);
        Assert.Contains("shop/cache on u2", info.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void DrainEvents_MarkANodeAsBeingDrained()
    {
        var nodes = new[] { new ExpectedNode("u1", "user", true) };
        var state = new ClusterState([Pdb("shop", "db", "db", 0, 1)], [Pod("shop", "db-0", "u1", "db")],
            [new NodeEventRecord("u1", "FailedToEvict", "Cannot evict pod as it would violate the pod's disruption budget.", "aks-auto-drain", "Warning", At, 3)], 3, []);

        var finding = Assert.Single(new UpgradeBlockersRule().Evaluate(Context([Node("u1", pool: "user")], expected: Cluster(nodes, state))));

        Assert.Equal("UPGRADE_BLOCKED_BY_PDB", finding.Code);
        Assert.Contains("FailedToEvict event at 2026-12-04T09:00:00Z", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AutoRepairEvents_SayWhatAksDidAndThatOnlyRecentActionsAreSeen()
    {
        var nodes = new[] { new ExpectedNode("u1", "user", false), new ExpectedNode("u2", "user", true) };
        var state = new ClusterState([], [],
        [
            new NodeEventRecord("u1", "NodeRebootStart", "Node reboot started", "aks-auto-repair", "Normal", At, 1),
            new NodeEventRecord("u1", "NodeReimageStart", "Node reimage started", "aks-auto-repair", "Normal", At.AddMinutes(20), 1),
            new NodeEventRecord("u2", "Starting", "Starting kubelet.", "kubelet", "Normal", At, 1),
        ], 3, []);

        var finding = Assert.Single(new UpgradeBlockersRule().Evaluate(Context([Node("u2", pool: "user")], expected: Cluster(nodes, state))));

        Assert.Equal(("NODE_AUTO_REPAIRED", Severity.Info), (finding.Code, finding.Severity));
        Assert.Equal(["u1"], finding.Nodes);
        Assert.Contains("u1: NodeRebootStart at 2026-12-04T09:00:00Z, NodeReimageStart at 2026-12-04T09:20:00Z", finding.Detail, StringComparison.Ordinal);
        Assert.Contains("about an hour", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ApplicationPodsOnASystemPool_AreInfo_DaemonSetsAndTheClustersOwnAreNot()
    {
        var nodes = new[] { new ExpectedNode("s1", "system", true) { Mode = "System" }, new ExpectedNode("u1", "user", true) { Mode = "User" } };
        var state = new ClusterState([],
        [
            Pod("shop", "web-0", "s1", "web"), Pod("shop", "web-1", "u1", "web"), Pod("kube-system", "coredns-0", "s1", "coredns"),
            Pod("monitoring", "node-exporter-0", "s1", "node-exporter", "DaemonSet"), Pod("shop", "job-0", "s1", "job", "Job", "Completed"),
        ], [], 3, []);

        var finding = Assert.Single(new UpgradeBlockersRule().Evaluate(Context([Node("s1", pool: "system")], expected: Cluster(nodes, state))));

        Assert.Equal(("SYSTEM_POOL_RUNS_USER_PODS", Severity.Info, "system"), (finding.Code, finding.Severity, finding.Pool));
        Assert.Contains("shop (1)", finding.Detail, StringComparison.Ordinal);
        Assert.Contains("CriticalAddonsOnly", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void FailedReads_AreOneWarning_AndAHealthyClusterHasNothingElse()
    {
        var nodes = new[] { new ExpectedNode("u1", "user", true) };
        var state = new ClusterState([Pdb("shop", "web", "web", 1, 2)], [Pod("shop", "web-0", "u1", "web")], [], 3,
            ["pods: the collector may not list pods (403): grant list on them (its ClusterRole)"]);

        var finding = Assert.Single(new UpgradeBlockersRule().Evaluate(Context([Node("u1", pool: "user")], expected: Cluster(nodes, state))));

        Assert.Equal(("CLUSTER_READ_FAILED", Severity.Warning), (finding.Code, finding.Severity));
        Assert.Contains("403", finding.Detail, StringComparison.Ordinal);
        Assert.Empty(new UpgradeBlockersRule().Evaluate(Context([Node("u1", pool: "user")], expected: Cluster(nodes, state with { Errors = [] }))));
        Assert.Empty(new UpgradeBlockersRule().Evaluate(Context([Node("u1")], new PreviousRun("run-0", ["u1"]))));
    }
}
