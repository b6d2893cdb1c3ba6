using Periscope.Bundle;
using Periscope.Collector.Correlation.Rules;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class ClusterDnsRuleTests
{
    [Fact]
    public void Evaluate_ClusterDnsTimesOutFromEveryNode_IsOneCriticalClusterFinding()
    {
        var nodes = Enumerable.Range(1, 4).Select(i => Node($"n{i}", dns: ClusterDns("10.0.0.10", "timed-out"))).ToList();

        var finding = Assert.Single(new ClusterDnsRule().Evaluate(Context(nodes)));

        Assert.Equal(("CLUSTER_DNS_FAILING", Severity.Critical, "cluster"), (finding.Code, finding.Severity, finding.Scope));
        Assert.Equal(["n1", "n2", "n3", "n4"], finding.Nodes);
        Assert.Contains("timed-out ×4", finding.Detail, StringComparison.Ordinal);
        Assert.All(finding.Evidence, e => Assert.Equal("facts.json", e.File));
    }

    [Fact]
    public void Evaluate_ServfailFromSomeNodes_NamesThoseNodesOnly()
    {
        var nodes = new[]
        {
            Node("n1", dns: ClusterDns("10.0.0.10", "answered", "ServerFailure")),
            Node("n2", dns: ClusterDns("10.0.0.10", "answered")),
            Node("n3", dns: ClusterDns("10.0.0.10", "answered")),
            Node("n4", dns: ClusterDns("10.0.0.10", "answered")),
            Node("n5", dns: ClusterDns("10.0.0.10", "answered")),
        };

        var finding = Assert.Single(new ClusterDnsRule().Evaluate(Context(nodes)));

        Assert.Equal(("CLUSTER_DNS_FAILING_FROM_SOME_NODES", Severity.Warning, "node"), (finding.Code, finding.Severity, finding.Scope));
        Assert.Equal(["n1"], finding.Nodes);
    }

    [Fact]
    public void Evaluate_NodeFindingForTheServer_IsTheEvidence()
    {
        var dnsFinding = new Finding
        {
            Code = "DNS_TIMEOUT",
            Severity = Severity.Critical,
            Title = "t",
            Collector = "dns",
            Subject = new FindingSubject(SubjectKind.Server, "10.0.0.10"),
            Evidence = [new EvidenceReference("dns/probes.json", 4)],
        };
        var nodes = Enumerable.Range(1, 3).Select(i => Node($"n{i}", dns: ClusterDns("10.0.0.10", "timed-out"), findings: [dnsFinding])).ToList();

        var finding = Assert.Single(new ClusterDnsRule().Evaluate(Context(nodes)));

        Assert.Equal(("dns/probes.json", (long?)4), (finding.Evidence[0].File, finding.Evidence[0].Line));
    }

    [Fact]
    public void Evaluate_AllAnswered_NothingAndUpstreamNamesDoNotCount()
    {
        var nodes = Enumerable.Range(1, 3).Select(i => Node($"n{i}", dns: ClusterDns("10.0.0.10", "answered", "NotExistentDomain"))).ToList();

        Assert.Empty(new ClusterDnsRule().Evaluate(Context(nodes)));
    }
}
