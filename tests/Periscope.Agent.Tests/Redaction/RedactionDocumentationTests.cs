using Periscope.Agent.Redaction;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Redaction;

/// <summary>Rule names are what manifests count by: each is documented in docs/redaction.md's rule table.</summary>
public sealed class RedactionDocumentationTests
{
    [Fact]
    public void EveryDefaultRule_HasARowInTheDocumentedTable()
    {
        var table = File.ReadAllLines(Fixtures.Docs("redaction.md")).Where(l => l.StartsWith("| `", StringComparison.Ordinal)).ToList();
        var names = DefaultRedactionRules.Names;

        Assert.All(names, name => Assert.Contains(table, row => row.StartsWith($"| `{name}` |", StringComparison.Ordinal)));
    }
}
