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
