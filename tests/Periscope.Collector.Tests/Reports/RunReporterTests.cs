using Microsoft.Extensions.Time.Testing;
using Periscope.Collector.Correlation;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Reports;

/// <summary>How the report's expected nodes are chosen: the Kubernetes list when it can be read, else the previous run.</summary>
public sealed class RunReporterTests
{
    /// <summary>An in-memory stand-in for the nodes list (the real one is tested against the fake API server).</summary>
    private sealed class ListedNodes(Func<IReadOnlyList<ExpectedNode>> list) : IExpectedNodeSource
    {
        public string Description => "the test's nodes list";

        public Task<IReadOnlyList<ExpectedNode>> ListAsync(CancellationToken cancellationToken) => Task.FromResult(list());
    }

    private static async Task<HealthReport> ReportAsync(string store, IExpectedNodeSource? expected)
    {
        var reporter = new RunReporter(new DirectoryBundleSource(store), new FakeTimeProvider(TestBundles.Start.AddHours(1)), expectedNodes: expected);
        return (await reporter.BuildAsync("run-1", TestContext.Current.CancellationToken)).Report;
    }

    [Fact]
    public async Task Build_ANodeCordonedInEveryEarlierRunChecked_IsCordonedLong_OneUncordonedBetweenIsNot()
    {
        using var store = new TempDirectory();
        // Runs every 6 hours for two days; n1 cordoned throughout, n2 cordoned too but uncordoned in one run 12 h ago, n3 never.
        for (var hoursAgo = 48; hoursAgo >= 0; hoursAgo -= 6)
        {
            var run = hoursAgo == 0 ? "run-1" : $"run-m{hoursAgo:D2}";
            var started = TestBundles.Start.AddHours(-hoursAgo);
            await TestBundles.WriteAsync(store.Path, run, "n1", startedAt: started, identity: i => i with { Cordoned = true });
            await TestBundles.WriteAsync(store.Path, run, "n2", startedAt: started, identity: i => i with { Cordoned = hoursAgo != 12 });
            await TestBundles.WriteAsync(store.Path, run, "n3", startedAt: started, identity: i => i with { Cordoned = false });
        }

        var source = new DirectoryBundleSource(store.Path);
        var reporter = new RunReporter(source, new FakeTimeProvider(TestBundles.Start.AddMinutes(5)), new CorrelationOptions { CordonHistoryRuns = 8 });
        var report = (await reporter.BuildAsync("run-1", TestContext.Current.CancellationToken)).Report;

        var finding = Assert.Single(report.Correlations, c => c.Code == "NODE_CORDONED_LONG");
        Assert.Equal(["n1"], finding.Nodes);
        // The newest run at least 24 h old is the one 24 h ago; it and the runs between it and this one are read.
        Assert.Contains("cordoned in each of 4 earlier run(s) checked back to run run-m24", Assert.Single(finding.Evidence).Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Spread_PicksBothEnds_AndEvenlyBetween()
    {
        Assert.Equal([0], RunReporter.Spread(0, 8));
        Assert.Equal([3], RunReporter.Spread(3, 1));
        Assert.Equal([0, 1, 2, 3], RunReporter.Spread(3, 8));
        Assert.Equal([0, 5, 10, 15, 20], RunReporter.Spread(20, 5));
    }

    [Fact]
    public async Task Markdown_BundleTextWithHtmlAndMarkdown_IsEscaped()
    {
        using var store = new TempDirectory();
        var hostile = TestBundles.Finding("KERNEL_OOM_KILL", Bundle.Severity.Critical, "x`<img src=x onerror=alert(1)>") with
        {
            Title = "<script>alert(1)</script> [click](javascript:alert(1)) ![i](http://evil/x.png) | **bold**",
        };
        await TestBundles.WriteAsync(store.Path, "run-1", "n1", [hostile], identity: i => i with { OsImage = "<b>OS</b>", KernelVersion = "[k](http://evil)" });

        var markdown = MarkdownReportRenderer.Render(await ReportAsync(store.Path, null));

        Assert.DoesNotContain("<script", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", markdown, StringComparison.Ordinal);
        // A link or image needs "](" after an unescaped bracket: none comes from the bundle's text.
        Assert.DoesNotMatch(@"(?<!\\)\]\((javascript|http://evil)", markdown);
        Assert.Contains(@"\[click\](javascript:", markdown, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", markdown, StringComparison.Ordinal);
        // Inside a code span HTML is not read, and a backtick in the text cannot end the span early.
        Assert.Contains("`x'<img src=x onerror=alert(1)>`", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_NodesList_NodeThatJoinedAfterTheRunStarted_IsNotExpected()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "run-1", "n1");
        var expected = new ListedNodes(() =>
        [
            new ExpectedNode("n1", Ready: true, Created: TestBundles.Start.AddDays(-3)),
            new ExpectedNode("n2", Ready: true, Created: TestBundles.Start.AddDays(-3)),
            new ExpectedNode("n3", Ready: true, Created: TestBundles.Start.AddMinutes(5)),
        ]);

        var report = await ReportAsync(store.Path, expected);

        Assert.Equal(("kubernetes", 2, (string?)null), (report.ExpectedNodes!.Source, report.ExpectedNodes.Count, report.ExpectedNodes.Error));
        Assert.Equal(["n3"], report.ExpectedNodes.JoinedAfterStart);
        Assert.Equal(["n2"], Assert.Single(report.Correlations, c => c.Code == "NODE_MISSING").Nodes);
        Assert.Contains("Expected nodes: 2, from the Kubernetes nodes list (1 joined after the run started and are not expected in it).", MarkdownReportRenderer.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_NodesListFails_TheReportSaysWhy_AndJudgesByThePreviousRun()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "run-0", "n1", startedAt: TestBundles.Start.AddHours(-1));
        await TestBundles.WriteAsync(store.Path, "run-0", "n2", startedAt: TestBundles.Start.AddHours(-1));
        await TestBundles.WriteAsync(store.Path, "run-1", "n1");
        var failing = new ListedNodes(() => throw new InvalidOperationException("the collector may not list nodes (403): grant list on nodes (a ClusterRole)"));

        var report = await ReportAsync(store.Path, failing);

        Assert.Equal(("previous-run", 2, "run-0"), (report.ExpectedNodes!.Source, report.ExpectedNodes.Count, report.ExpectedNodes.PreviousRunId));
        Assert.Equal("the test's nodes list: the collector may not list nodes (403): grant list on nodes (a ClusterRole)", report.ExpectedNodes.Error);
        Assert.Equal(["n2"], Assert.Single(report.Correlations, c => c.Code == "NODE_MISSING").Nodes);
        Assert.Contains("could not be used", MarkdownReportRenderer.Render(report), StringComparison.Ordinal);
        Assert.Contains("<p class=\"error\">Expected nodes: 2, those of the previous run run-0. The Kubernetes nodes list could not be used", HtmlReportRenderer.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_NoListAndNoPreviousRun_NoExpectedNodes()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "run-1", "n1");

        var report = await ReportAsync(store.Path, null);

        Assert.Null(report.ExpectedNodes);
        Assert.DoesNotContain(report.Correlations, c => c.Code == "NODE_MISSING");
    }
}
