using Periscope.Bundle;
using Periscope.Collector.Reports;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Reports;

public sealed class HtmlMatrixTests
{
    [Fact]
    public void RenderHtml_NodesByCollectors_ShowsEachStatusWithTheWorstFindingAndWhyABundleWasNotRead()
    {
        CollectorRecord[] collectors =
        [
            new() { Name = "kernel", Status = CollectorStatus.Ok },
            new() { Name = "dns", Status = CollectorStatus.TimedOut, Error = "deadline" },
        ];
        var nodes = new[]
        {
            Node("n1", collectors: collectors, findings: [Finding("KERNEL_OOM_KILL", "n1", Severity.Critical)]),
            Node("n2", collectors: collectors),
            Rejected("n3", "entry facts.json: sha256 does not match"),
        };

        var html = HtmlReportRenderer.Render(ReportBuilder.Build("run-1", nodes, DateTimeOffset.UnixEpoch));
        var matrix = html[html.IndexOf("<table class=\"matrix\">", StringComparison.Ordinal)..];
        matrix = matrix[..(matrix.IndexOf("</table>", StringComparison.Ordinal) + 8)];

        Assert.Contains("<th>Node</th><th>Pool</th><th>Status</th><th>dns</th><th>kernel</th>", matrix, StringComparison.Ordinal); // the pools are known
        Assert.Contains("</a></td><td>pool-a</td>", matrix, StringComparison.Ordinal);
        Assert.Contains("<span class=\"badge critical\">ok: critical</span>", matrix, StringComparison.Ordinal);
        Assert.Contains("<span class=\"badge warning\">timed-out</span>", matrix, StringComparison.Ordinal);
        Assert.Contains("rejected: entry facts.json: sha256 does not match", matrix, StringComparison.Ordinal);
        Assert.True(matrix.IndexOf(">n1<", StringComparison.Ordinal) < matrix.IndexOf(">n3<", StringComparison.Ordinal)); // worst first: critical, then unknown
    }

    [Fact]
    public void RenderHtml_WithoutPools_HasNoPoolColumn()
    {
        var html = HtmlReportRenderer.Render(ReportBuilder.Build("run-1", [Node("n1", pool: null), Node("n2", pool: null)], DateTimeOffset.UnixEpoch));

        Assert.Contains("<table class=\"matrix\"><tr><th>Node</th><th>Status</th>", html, StringComparison.Ordinal);
    }
}
