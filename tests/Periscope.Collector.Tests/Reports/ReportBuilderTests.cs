using Periscope.Bundle;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Reports;

public sealed class ReportBuilderTests
{
    [Fact]
    public async Task Build_FindingOnTwoOfThreeNodes_CountsTheNodesSharingIt()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "r1", "n1", [TestBundles.Finding("DISK_IO_ERROR", Severity.Critical, "sdb", 3)]);
        await TestBundles.WriteAsync(store.Path, "r1", "n2", [TestBundles.Finding("DISK_IO_ERROR", Severity.Critical, "sdc", 1), TestBundles.Finding("NIC_LINK_FLAP")]);
        await TestBundles.WriteAsync(store.Path, "r1", "n3");

        var report = await BuildAsync(store.Path);

        Assert.Equal(HealthStatus.Critical, report.Status);
        var disk = report.Findings.Single(f => f.Code == "DISK_IO_ERROR");
        Assert.Equal(2, disk.NodeCount);
        Assert.Equal(3, disk.ReportingNodes);
        Assert.Equal(["n1", "n2"], disk.Nodes);
        Assert.Equal(4, disk.Occurrences);
        Assert.Equal("DISK_IO_ERROR", report.Findings[0].Code); // worst first
        Assert.Equal(new ReportSummary(3, 1, 0, 2, 0, 0, 0), report.Summary);
    }

    [Fact]
    public async Task Build_NodeSignalsFromTheBundle_AreInTheReportAndItsRenderings()
    {
        using var store = new TempDirectory();
        var at = DateTimeOffset.Parse("2026-12-04T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var signals = new NodeSignals
        {
            EvaluatedAt = at,
            Verdict = SignalVerdict.Unhealthy,
            Action = SignalAction.RestartRuntime,
            Reason = "RUNTIME_NOT_READY on the node: the runtime says it is not ready",
            Signals =
            [
                new Signal
                {
                    Code = "RUNTIME_NOT_READY", Severity = Severity.Critical, Subject = new FindingSubject(SubjectKind.Node, "n1"), Title = "not ready",
                    Condition = "PeriscopeContainerRuntimeUnhealthy", Scope = SignalScope.Node, Action = SignalAction.RestartRuntime,
                    State = SignalState.Active, Since = at, LastSeen = at,
                },
                new Signal
                {
                    Code = "DNS_TIMEOUT", Severity = Severity.Critical, Subject = new FindingSubject(SubjectKind.Server, "10.0.0.10"), Title = "timeout",
                    Scope = SignalScope.Cluster, Action = SignalAction.None, State = SignalState.HoldingDown, Since = at, LastSeen = at, ClearsAt = at.AddMinutes(5),
                },
            ],
        };
        await TestBundles.WriteAsync(store.Path, "r1", "n1", [TestBundles.Finding("RUNTIME_NOT_READY", Severity.Critical)], signals: signals);
        await TestBundles.WriteAsync(store.Path, "r1", "n2"); // a bundle without signals (schema 1.0): none in the report

        var report = await BuildAsync(store.Path);

        var n1 = report.Nodes.Single(n => n.Node == "n1");
        Assert.Equal(SignalVerdict.Unhealthy, n1.Signals!.Verdict);
        Assert.Equal(["RUNTIME_NOT_READY", "DNS_TIMEOUT"], n1.Signals.Signals.Select(s => s.Code));
        Assert.Null(report.Nodes.Single(n => n.Node == "n2").Signals);
        var markdown = MarkdownReportRenderer.Render(report);
        Assert.Contains("Signals when collected: **unhealthy**, action `restart-runtime`; conditions True: `PeriscopeContainerRuntimeUnhealthy`", markdown, StringComparison.Ordinal);
        var html = HtmlReportRenderer.Render(report);
        Assert.Contains("<code>PeriscopeContainerRuntimeUnhealthy</code>", html, StringComparison.Ordinal);
        Assert.Contains("<code>restart-runtime</code>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_PeriscopeConditionsWithoutARecentHeartbeat_AreReportedStale()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "r1", "n1");
        var now = TestBundles.Start;
        var expected = new ExpectedNodes(ExpectedNodes.Kubernetes,
        [
            new ExpectedNode("n1") { OwnedConditions = [new OwnedCondition("PeriscopeKernelOops", "False", "NoProblem", now.AddMinutes(-4), now.AddHours(-3))] },
            new ExpectedNode("gone")
            {
                OwnedConditions =
                [
                    new OwnedCondition("PeriscopeDiskFailing", "True", "DiskIoError", now.AddHours(-2).AddMinutes(-5), now.AddHours(-6)),
                    new OwnedCondition("PeriscopeKernelOops", "False", "NoProblem", now.AddMinutes(-16), now.AddHours(-6)),
                ],
            },
        ]);

        var report = ReportBuilder.Build("r1", await new DirectoryBundleSource(store.Path).ReadRunAsync("r1", CancellationToken.None), now, expected: expected);

        Assert.Equal([("gone", "PeriscopeDiskFailing"), ("gone", "PeriscopeKernelOops")], report.StaleConditions.Select(c => (c.Node, c.Type)));
        Assert.StartsWith("no heartbeat for 2 h 5 min", report.StaleConditions[0].Why, StringComparison.Ordinal);
        var markdown = MarkdownReportRenderer.Render(report);
        Assert.Contains("## Stale Periscope conditions", markdown, StringComparison.Ordinal);
        Assert.Contains("| gone | `PeriscopeDiskFailing` | True | DiskIoError |", markdown, StringComparison.Ordinal);
        Assert.Contains("<code>PeriscopeDiskFailing</code>", HtmlReportRenderer.Render(report), StringComparison.Ordinal);
        Assert.DoesNotContain("Stale Periscope", MarkdownReportRenderer.Render(ReportBuilder.Build("r1", [], now)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_RejectedBundleAndNoCritical_IsUnknownNotHealthy()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "r1", "n1");
        await TestBundles.WriteAsync(store.Path, "r1", "n2", withStatus: false);

        var report = await BuildAsync(store.Path);

        Assert.Equal(HealthStatus.Unknown, report.Status);
        Assert.Equal(1, report.Summary.Incomplete);
        Assert.Equal("n2", report.Nodes[0].Node); // unknown sorts before healthy
    }

    [Fact]
    public async Task RenderHtml_ValuesFromBundles_AreEscapedAndSelfContained()
    {
        using var store = new TempDirectory();
        var hostile = TestBundles.Finding("KERNEL_OOPS", Severity.Critical) with { Title = "<script>alert(1)</script>", Detail = "<img src=x onerror=alert(2)>" };
        await TestBundles.WriteAsync(store.Path, "r1", "n1", [hostile]);

        var html = HtmlReportRenderer.Render(await BuildAsync(store.Path));

        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.Contains("href=\"r1/n1.zip\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RenderMarkdown_Findings_AreListedWithBundleLinks()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "r1", "n1", [TestBundles.Finding("FS_EXT4_ERROR", Severity.Critical, "sda1") with { Title = "pipe | in title" }]);

        var markdown = MarkdownReportRenderer.Render(await BuildAsync(store.Path));

        Assert.Contains("| critical | `FS_EXT4_ERROR` | node | 1/1: n1 |", markdown, StringComparison.Ordinal);
        Assert.Contains("pipe \\| in title", markdown, StringComparison.Ordinal);
        Assert.Contains("[`r1/n1.zip`](r1/n1.zip)", markdown, StringComparison.Ordinal);
    }

    private static async Task<HealthReport> BuildAsync(string store)
    {
        var nodes = await new DirectoryBundleSource(store).ReadRunAsync("r1", CancellationToken.None);
        return ReportBuilder.Build("r1", nodes, TestBundles.Start);
    }
}
