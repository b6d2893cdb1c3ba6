using System.Text.RegularExpressions;
using Periscope.Agent.Analysis;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests;

public sealed partial class FindingsDocumentationTests
{
    [Fact]
    public void FindingsTable_ListsExactlyTheRegisteredCodes()
    {
        var markdown = File.ReadAllText(Fixtures.Docs("findings.md"));
        var documented = TableRow().Matches(markdown).Select(m => m.Groups["code"].Value).ToList();

        Assert.Equal(documented.Count, documented.Distinct().Count());
        Assert.Equal(FindingCatalog.All.Select(d => d.Code).Order(), documented.Order());
    }

    [Fact]
    public void FindingsTable_NamesTheRegisteredCollectorOfEachCode()
    {
        var markdown = File.ReadAllText(Fixtures.Docs("findings.md"));
        foreach (Match row in TableRow().Matches(markdown))
        {
            Assert.Equal(FindingCatalog.Get(row.Groups["code"].Value).Collector, row.Groups["collector"].Value);
        }
    }

    [GeneratedRegex(@"^\| `(?<code>[A-Z0-9_]+)` \| (?<collector>[a-z]+) \|", RegexOptions.Multiline)]
    private static partial Regex TableRow();
}
