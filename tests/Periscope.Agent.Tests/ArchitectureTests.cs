using NetArchTest.Rules;
using Periscope.Agent.Redaction;
using Xunit;

namespace Periscope.Agent.Tests;

/// <summary>
/// The agent's arrows, read from its IL (references inside method bodies count). One direction:
/// <c>Cli</c> → <c>Hosting</c> → <c>Triggers</c> → <c>Runs</c> → {<c>Signals</c> → <c>Analysis</c>, <c>Redaction</c>,
/// <c>Export</c>} → <c>Collection</c> (the framework) → <c>Periscope.Bundle</c>; <c>Kubernetes</c> (the API client) is
/// used by <c>Triggers</c> and <c>Signals</c> and names none of them. The framework never reaches into a plug-in or a stage,
/// a collector never into another collector — shared node readers live in the framework (<c>Collection/Node</c>) —
/// nor into the stages that use collectors. docs/architecture.md draws the rooms.
/// </summary>
public sealed class ArchitectureTests
{
    private const string Collectors = "Periscope.Agent.Collectors";
    private static readonly System.Reflection.Assembly Agent = typeof(Redactor).Assembly;

    public static TheoryData<string> CollectorNamespaces()
        => [.. Types.InAssembly(Agent).That().ResideInNamespace(Collectors).GetTypes()
            .Select(t => t.Namespace!).Where(n => n.StartsWith(Collectors + ".", StringComparison.Ordinal))
            .Select(n => string.Join('.', n.Split('.').Take(4))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>Each room and the rooms above it, which it must never name.</summary>
    public static TheoryData<string, string[]> RoomsAndWhatIsAboveThem() => new()
    {
        { "Periscope.Agent.Kubernetes", ["Periscope.Agent.Collection", "Periscope.Agent.Analysis", "Periscope.Agent.Redaction", "Periscope.Agent.Export", "Periscope.Agent.Signals", "Periscope.Agent.Runs", "Periscope.Agent.Triggers", "Periscope.Agent.Hosting", "Periscope.Agent.Cli", Collectors] },
        { "Periscope.Agent.Collection", ["Periscope.Agent.Analysis", "Periscope.Agent.Redaction", "Periscope.Agent.Export", "Periscope.Agent.Signals", "Periscope.Agent.Runs", "Periscope.Agent.Triggers", "Periscope.Agent.Hosting", "Periscope.Agent.Cli"] },
        { "Periscope.Agent.Analysis", ["Periscope.Agent.Redaction", "Periscope.Agent.Export", "Periscope.Agent.Signals", "Periscope.Agent.Runs", "Periscope.Agent.Triggers", "Periscope.Agent.Hosting", "Periscope.Agent.Cli", Collectors] },
        { "Periscope.Agent.Redaction", ["Periscope.Agent.Analysis", "Periscope.Agent.Export", "Periscope.Agent.Signals", "Periscope.Agent.Runs", "Periscope.Agent.Triggers", "Periscope.Agent.Hosting", "Periscope.Agent.Cli", Collectors] },
        { "Periscope.Agent.Export", ["Periscope.Agent.Analysis", "Periscope.Agent.Signals", "Periscope.Agent.Runs", "Periscope.Agent.Triggers", "Periscope.Agent.Hosting", "Periscope.Agent.Cli", Collectors] },
        { "Periscope.Agent.Signals", ["Periscope.Agent.Redaction", "Periscope.Agent.Export", "Periscope.Agent.Runs", "Periscope.Agent.Triggers", "Periscope.Agent.Hosting", "Periscope.Agent.Cli", Collectors] },
        { "Periscope.Agent.Runs", ["Periscope.Agent.Triggers", "Periscope.Agent.Hosting", "Periscope.Agent.Cli", Collectors] },
        { "Periscope.Agent.Triggers", ["Periscope.Agent.Hosting", "Periscope.Agent.Cli", Collectors] },
        { "Periscope.Agent.Hosting", ["Periscope.Agent.Cli"] },
    };

    [Theory]
    [MemberData(nameof(RoomsAndWhatIsAboveThem))]
    public void ARoom_NamesNoRoomAboveIt(string room, string[] above)
    {
        var types = Types.InAssembly(Agent).That().ResideInNamespace(room).GetTypes().ToList();
        var result = Types.InAssembly(Agent).That().ResideInNamespace(room).ShouldNot().HaveDependencyOnAny(above).GetResult();

        Assert.NotEmpty(types); // the room exists: a renamed namespace does not pass by matching nothing
        Assert.True(result.IsSuccessful, $"{room} reaches up into {string.Join(" or ", above)}: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void TheCollectionFramework_DependsOnNoCollector()
    {
        var result = Types.InAssembly(Agent).That().ResideInNamespace("Periscope.Agent.Collection")
            .ShouldNot().HaveDependencyOn(Collectors).GetResult();

        Assert.True(result.IsSuccessful, $"depend on a collector: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Collectors_DependOnlyOnTheFramework_NotOnTheStagesThatUseThem()
    {
        string[] stages = ["Periscope.Agent.Analysis", "Periscope.Agent.Export", "Periscope.Agent.Redaction", "Periscope.Agent.Runs", "Periscope.Agent.Hosting", "Periscope.Agent.Cli", "Periscope.Agent.Triggers"];

        var result = Types.InAssembly(Agent).That().ResideInNamespace(Collectors).ShouldNot().HaveDependencyOnAny(stages).GetResult();

        Assert.True(result.IsSuccessful, $"collectors reach up into a stage: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void TheCheck_CanFail_ItSeesReferencesMadeOnlyInsideMethodBodies()
    {
        // The run pipeline names the export stage's sink in its constructor, and the analysis only in a method body
        // (NodeAnalyzer.Analyze): both must be seen, or a wrong-way call hidden in a body would pass.
        var export = Types.InAssembly(Agent).That().HaveName("RunPipeline").ShouldNot().HaveDependencyOn("Periscope.Agent.Export").GetResult();
        var analysis = Types.InAssembly(Agent).That().HaveName("RunPipeline").ShouldNot().HaveDependencyOn("Periscope.Agent.Analysis").GetResult();

        Assert.False(export.IsSuccessful);
        Assert.False(analysis.IsSuccessful);
    }

    [Theory]
    [MemberData(nameof(CollectorNamespaces))]
    public void ACollector_DependsOnNoOtherCollector(string collector)
    {
        var others = CollectorNamespaces().Select(row => row.Data).Where(n => n != collector).ToArray();

        var result = Types.InAssembly(Agent).That().ResideInNamespace(collector).ShouldNot().HaveDependencyOnAny(others).GetResult();

        Assert.True(others.Length >= 5, string.Join(", ", others)); // the check sees every other collector
        Assert.True(result.IsSuccessful, $"{collector} depends on another collector: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }
}
