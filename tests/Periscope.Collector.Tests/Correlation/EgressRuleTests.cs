using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Collector.Correlation.Rules;
using Periscope.Collector.Sources;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class EgressRuleTests
{
    private static Finding Blocked(string endpoint, string step, string code = "EGRESS_BLOCKED") => new()
    {
        Code = code,
        Severity = code == "API_SERVER_UNREACHABLE" ? Severity.Critical : Severity.Warning,
        Title = $"{endpoint} cannot be reached",
        Detail = "Check the egress path.",
        Collector = "connectivity",
        Subject = new FindingSubject(SubjectKind.Server, endpoint),
        Attributes = new Dictionary<string, string> { ["step"] = step, ["endpoint"] = endpoint },
    };

    private static NodeBundle Probed(string name, string pool, params Finding[] findings)
    {
        var node = Node(name, pool: pool, findings: findings);
        return node with
        {
            Facts = new FactsDocument
            {
                Connectivity = new ConnectivityFacts
                {
                    Probes = [new ConnectivityProbe { Role = "azure", Host = "mcr.microsoft.com", Port = 443, Step = findings.Length > 0 ? "tls" : "ok" }],
                },
            },
        };
    }

    [Fact]
    public void SameEndpointBlockedFromEveryNode_IsClusterScope_WithItsSteps()
    {
        var nodes = new[] { Probed("a1", "pool-a", Blocked("mcr.microsoft.com:443", "tls")), Probed("a2", "pool-a", Blocked("mcr.microsoft.com:443", "tls")), Probed("b1", "pool-b", Blocked("mcr.microsoft.com:443", "connect-timeout")) };

        var finding = Assert.Single(new EgressRule().Evaluate(Context(nodes)));

        Assert.Equal(("ENDPOINT_BLOCKED", Severity.Warning, "cluster"), (finding.Code, finding.Severity, finding.Scope));
        Assert.Equal("mcr.microsoft.com:443 blocked from 3 of 3 node(s) that probed it (connect-timeout, tls)", finding.Title);
        Assert.StartsWith("The same from every node", finding.Detail, StringComparison.Ordinal);
        Assert.Equal(3, finding.Evidence.Count);
    }

    [Fact]
    public void BlockedFromOnePoolOnly_IsPoolScope_AndTheApiServerIsCritical()
    {
        var nodes = new[]
        {
            Probed("a1", "pool-a", Blocked("mcr.microsoft.com:443", "refused")), Probed("a2", "pool-a", Blocked("mcr.microsoft.com:443", "refused")),
            Probed("b1", "pool-b"), Probed("b2", "pool-b"),
            Probed("c1", "pool-c", Blocked("10.0.0.1:443", "connect-timeout", "API_SERVER_UNREACHABLE")),
        };

        var findings = new EgressRule().Evaluate(Context(nodes)).ToList();

        var pool = Assert.Single(findings, f => f.Title.StartsWith("mcr.microsoft.com", StringComparison.Ordinal));
        Assert.Equal(("pool", "pool-a"), (pool.Scope, pool.Pool));
        Assert.Contains("2 of 5 node(s)", pool.Title, StringComparison.Ordinal);
        var api = Assert.Single(findings, f => f.Title.StartsWith("10.0.0.1:443", StringComparison.Ordinal));
        Assert.Equal((Severity.Critical, "node"), (api.Severity, api.Scope));
        Assert.Empty(new EgressRule().Evaluate(Context([Probed("b1", "pool-b")])));
    }
}
