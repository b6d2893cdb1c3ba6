using Periscope.Agent.Export;
using Periscope.Bundle;
using Xunit;

namespace Periscope.Agent.Tests.Export;

/// <summary>The agent never seals findings a reader would refuse: counts, bytes and long texts are bounded, worst kept.</summary>
public sealed class FindingBoundsTests
{
    private static Finding Finding(int i, Severity severity, int detailChars = 10) => new()
    {
        Code = "KERNEL_IO_ERROR",
        Severity = severity,
        Title = new string('t', 2000),
        Detail = new string('d', detailChars),
        Collector = "kernel",
        Subject = new FindingSubject(SubjectKind.Device, $"sd{i}"),
        Attributes = new Dictionary<string, string> { ["line"] = new string('a', 5000) },
    };

    [Fact]
    public void BoundFindings_OverTheCount_KeepsTheWorstFirstAndCutsLongTexts()
    {
        var findings = Enumerable.Range(0, 12).Select(i => Finding(i, i < 4 ? Severity.Critical : Severity.Info)).ToList();

        var (kept, leftOut) = BundleBudget.BoundFindings(findings, new BundleLimits { MaxFindings = 5 });

        Assert.Equal(5, kept.Count);
        Assert.Equal(7, leftOut);
        Assert.Equal(4, kept.Count(f => f.Severity == Severity.Critical));
        Assert.All(kept, f => Assert.True(f.Title.Length <= BundleBudget.MaxTitleChars && f.Attributes["line"].Length <= BundleBudget.MaxAttributeChars));
        Assert.EndsWith("…", kept[0].Title, StringComparison.Ordinal);
    }

    [Fact]
    public void BoundFindings_OverTheBytes_StopsBeforeTheDocumentWouldPassItsLimit()
    {
        var findings = Enumerable.Range(0, 100).Select(i => Finding(i, Severity.Warning, detailChars: 4000)).ToList();
        var limits = new BundleLimits { MaxFindingsSize = 64 * 1024 };

        var (kept, leftOut) = BundleBudget.BoundFindings(findings, limits);
        var size = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new FindingsDocument { Findings = kept }, BundleJsonContext.Default.FindingsDocument).Length;

        Assert.True(leftOut > 0);
        Assert.True(size <= limits.MaxFindingsSize, $"{size} bytes");
    }
}
