using Periscope.Bundle;
using Periscope.Collector.Correlation;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Reports;

/// <summary>The report read at a glance: its first sentence, times to the second, timeline labels that fit.</summary>
public sealed class AtAGlanceTests
{
    [Fact]
    public void Headline_SaysHowManyNodesAreCritical_WhatAndWhere()
    {
        var nodes = new[]
        {
            Node("aks-nodepool1-1", pool: "nodepool1", findings: [Finding("KERNEL_OOM_KILL", "aks-nodepool1-1", Severity.Critical)]),
            Node("aks-nodepool1-2", pool: "nodepool1", findings: [Finding("KERNEL_OOM_KILL", "aks-nodepool1-2", Severity.Critical)]),
            Node("aks-nodepool2-1", pool: "nodepool2", findings: [Finding("KERNEL_SOFT_LOCKUP", "aks-nodepool2-1", Severity.Critical), Finding("DNS_SLOW", "aks-nodepool2-1")]),
            Node("aks-nodepool2-2", pool: "nodepool2"),
            Node("aks-nodepool2-3", pool: "nodepool2", findings: [Finding("DNS_SLOW", "aks-nodepool2-3")]),
        };
        var report = ReportBuilder.Build("run-1", nodes, DateTimeOffset.UnixEpoch);

        var headline = Headline.Of(report);

        Assert.Equal("3 of 5 nodes critical: out-of-memory kills on 2 nodes of pool nodepool1; CPU lockups on 1 node of pool nodepool2.", headline);
        Assert.Contains($"<p class=\"headline\">{headline}</p>", HtmlReportRenderer.Render(report), StringComparison.Ordinal);
        Assert.Contains($"**{headline}**", MarkdownReportRenderer.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Headline_WarningsOnly_AcrossPools_AndUnknownCodesInTheirOwnWords()
    {
        var nodes = new[]
        {
            Node("a1", pool: "pool-a", findings: [Finding("SOMETHING_NEW", "a1")]),
            Node("b1", pool: "pool-b", findings: [Finding("SOMETHING_NEW", "b1")]),
            Node("b2", pool: "pool-b"),
        };

        Assert.Equal("2 of 3 nodes with warnings: something new on 2 nodes in pools pool-a, pool-b.", Headline.Of(ReportBuilder.Build("run-1", nodes, DateTimeOffset.UnixEpoch)));
    }

    [Fact]
    public void Headline_Healthy_SaysSo_AndCountsWhatCouldNotBeRead()
    {
        Assert.Equal("All 2 nodes healthy.", Headline.Of(ReportBuilder.Build("run-1", [Node("n1"), Node("n2")], DateTimeOffset.UnixEpoch)));
        Assert.Equal("1 of 2 nodes healthy. 1 bundle could not be read.",
            Headline.Of(ReportBuilder.Build("run-1", [Node("n1"), Rejected("n2", "bad zip")], DateTimeOffset.UnixEpoch)));
    }

    [Fact]
    public void Pools_SayWhatEachPoolRuns_ItsSpotShare_AndItsScheduledEvents()
    {
        static NodeBundle Aks(string name, string pool, string size, string image, string? priority = null, string kubelet = "v1.31.2", IReadOnlyList<Finding>? findings = null)
        {
            var node = Node(name, pool: pool, kubelet: kubelet, findings: findings);
            return node with { Manifest = node.Manifest! with { Node = node.Manifest.Node with { InstanceType = size, NodeImageVersion = image, Priority = priority, Mode = pool == "system" ? "System" : "User" } } };
        }

        var nodes = new[]
        {
            Aks("s1", "system", "Standard_D4s_v5", "AKSUbuntu-2204-202411.12.0"),
            Aks("p1", "spotpool", "Standard_D8s_v5", "AKSUbuntu-2204-202411.12.0", "spot"),
            Aks("p2", "spotpool", "Standard_D8s_v5", "AKSUbuntu-2204-202410.27.0", "spot", "v1.30.6",
                [Finding("AZURE_EVENT_SCHEDULED", "p2", Severity.Critical)]),
            Aks("p3", "spotpool", "Standard_D16s_v5", "AKSUbuntu-2204-202411.12.0"),
            Node("loose", pool: null),
        };
        var listed = new ExpectedNodes(ExpectedNodes.Kubernetes, [.. nodes.Select(n => new ExpectedNode(n.Node, n.Manifest!.Node.Pool, true) { Quarantined = n.Node == "p3" })]);
        var report = ReportBuilder.Build("run-1", nodes, DateTimeOffset.UnixEpoch, expected: listed);

        Assert.Equal(["spotpool", "system", null], report.Pools.Select(p => p.Pool));
        Assert.Equal(["p3"], report.Pools[0].UpgradeBlockers);
        Assert.Empty(report.Pools[1].UpgradeBlockers);
        var spot = report.Pools[0];
        Assert.Equal((3, 1, 0, 2, 2, "user"), (spot.Nodes, spot.Critical, spot.Warning, spot.Healthy, spot.Spot, spot.Mode?.ToLowerInvariant()));
        Assert.Equal("Standard_D16s_v5 ×1, Standard_D8s_v5 ×2", PoolReport.List(spot.VmSizes));
        Assert.Equal(new Dictionary<string, int> { ["v1.30.6"] = 1, ["v1.31.2"] = 2 }, spot.KubeletVersions);
        Assert.Equal(["p2"], spot.ScheduledEvents);
        var html = HtmlReportRenderer.Render(report);
        Assert.Contains("<h2>Pools</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<td>2 of 3</td><td>p2</td><td>p3</td>", html, StringComparison.Ordinal);
        Assert.Contains("| `spotpool` (user) | 3 | 1 critical, 2 healthy | Standard_D16s_v5 ×1, Standard_D8s_v5 ×2 |", MarkdownReportRenderer.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Times_AreShownToTheSecondInUtc_WhileJsonKeepsFullPrecision()
    {
        var at = new DateTimeOffset(2026, 12, 4, 5, 16, 34, TimeSpan.FromHours(1)).AddTicks(1234567);

        Assert.Equal("2026-12-04 04:16:34Z", Words.Time(at));
        Assert.Equal("2026-12-04T04:16:34.1234567Z", UtcTimestampConverter.Format(at));
        Assert.Equal("12 min ago", Words.Ago(at, at.AddMinutes(12).AddSeconds(5)));
        Assert.Equal("just now", Words.Ago(at, at.AddSeconds(2)));
        Assert.Equal("3 h ago", Words.Ago(at, at.AddHours(3.5)));
    }

    [Fact]
    public void Timeline_MakesRoomForTheLongestLabel_AndShortensOnlyVeryLongNames()
    {
        var longName = "aks-verylongpoolname-12345678-vmss-with-a-suffix-000001";
        var events = new List<TimelineEvent>
        {
            new() { Time = DateTimeOffset.UnixEpoch, Node = longName, Collector = "kernel", Code = "KERNEL_PANIC", Severity = Severity.Critical, Title = "t", Count = 1, Bundle = "r/x.zip" },
            new() { Time = DateTimeOffset.UnixEpoch.AddMinutes(1), Node = "n1", Collector = "kernel", Code = "KERNEL_PANIC", Severity = Severity.Critical, Title = "t", Count = 1, Bundle = "r/n1.zip" },
        };

        var svg = TimelineSvg.Render(events);
        var label = TimelineSvg.Label(longName);

        Assert.Equal(48, label.Length);
        Assert.StartsWith("aks-verylongpoolname-12", label, StringComparison.Ordinal);
        Assert.EndsWith("suffix-000001", label, StringComparison.Ordinal);
        Assert.Contains($"<title>{longName}</title>{label}</text>", svg, StringComparison.Ordinal);
        var x = int.Parse(System.Text.RegularExpressions.Regex.Match(svg, "<text x=\"(\\d+)\" y=\"\\d+\" font-size=\"12\" text-anchor=\"end\"").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(x >= label.Length * 7, $"labels end at x={x}: a {label.Length}-character label does not fit");
        Assert.Equal("n1", TimelineSvg.Label("n1"));
    }
}
