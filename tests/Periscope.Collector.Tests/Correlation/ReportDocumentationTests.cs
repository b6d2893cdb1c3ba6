using System.Text.RegularExpressions;
using Periscope.Collector.Correlation;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Correlation;

public sealed partial class ReportDocumentationTests
{
    [Fact]
    public void CorrelationCodes_AreTheCodesDocumentedInReportMd()
    {
        var text = File.ReadAllText(Path.Combine(Fixtures.Repository, "docs", "report.md"));
        var documented = DocumentedCode().Matches(text).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var registered = CorrelationRules.All.SelectMany(r => r.Codes).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(registered.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }

    [GeneratedRegex(@"^\| `([A-Z][A-Z0-9_]+)` \|", RegexOptions.Multiline)]
    private static partial Regex DocumentedCode();
}
