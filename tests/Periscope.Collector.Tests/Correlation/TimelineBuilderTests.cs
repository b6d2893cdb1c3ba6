using Periscope.Bundle;
using Periscope.Collector.Correlation;
using Periscope.Collector.Reports;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class TimelineBuilderTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Build_CriticalKernelRuntimeAndKubeletEvents_MergedOldestFirst()
    {
        var nodes = new[]
        {
            Node("n1", findings:
            [
                Finding("KERNEL_OOM_KILL", "n1", Severity.Critical, first: T.AddMinutes(10), last: T.AddMinutes(12), count: 3),
                Finding("DNS_TIMEOUT", "n1", Severity.Critical, collector: "dns", first: T),              // not a node component event
                Finding("KUBELET_PLEG_UNHEALTHY", "n1", Severity.Warning, collector: "kubelet", first: T), // not critical
            ]),
            Node("n2", findings: [Finding("CONTAINERD_RESTARTING", "n2", Severity.Critical, collector: "containerd", first: T.AddMinutes(5))]),
        };

        var timeline = TimelineBuilder.Build(Context(nodes));

        Assert.Equal(["n2/CONTAINERD_RESTARTING", "n1/KERNEL_OOM_KILL"], timeline.Select(e => $"{e.Node}/{e.Code}"));
        Assert.Equal((T.AddMinutes(12), 3L, "run-1/n1.zip"), (timeline[1].LastSeen!.Value, timeline[1].Count, timeline[1].Bundle));
    }

    [Fact]
    public void Build_MoreEventsThanTheCap_KeepsTheNewest()
    {
        var findings = Enumerable.Range(0, 10).Select(i => Finding($"KERNEL_E{i}", "n1", Severity.Critical, first: T.AddMinutes(i))).ToList();

        var timeline = TimelineBuilder.Build(Context([Node("n1", findings: findings)], options: new CorrelationOptions { MaxTimelineEvents = 3 }));

        Assert.Equal(["KERNEL_E7", "KERNEL_E8", "KERNEL_E9"], timeline.Select(e => e.Code));
    }

    [Fact]
    public void RenderHtml_Timeline_IsInlineSvgWithATooltipPerEventAndNoExternalReference()
    {
        var nodes = new[] { Node("n1", findings: [Finding("KERNEL_PANIC", "n1", Severity.Critical, first: T, last: T.AddMinutes(1)) with { Title = "<script>x</script>" }]) };
        var report = ReportBuilder.Build("run-1", nodes, T.AddHours(1));

        var html = HtmlReportRenderer.Render(report);

        Assert.Contains("<svg class=\"timeline\"", html, StringComparison.Ordinal);
        Assert.Matches("<title>n1 [^<]*KERNEL_PANIC [^<]*2026-11-30 09:00:00Z [^<]*2026-11-30 09:01:00Z [^<]*&lt;script&gt;x&lt;/script&gt;</title>", html);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
    }
}
