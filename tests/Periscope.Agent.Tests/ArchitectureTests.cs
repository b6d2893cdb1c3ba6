using NetArchTest.Rules;
using Periscope.Agent.Redaction;
using Xunit;

namespace Periscope.Agent.Tests;

/// <summary>
/// The agent's arrows, read from its IL (references inside method bodies count): the collection framework never
/// reaches into a plug-in, a collector never into another collector — shared node readers live in the framework
/// (<c>Collection/Node</c>) — nor into the stages that use collectors (analysis, export, redaction, hosting, CLI).
/// docs/architecture.md draws the rooms. (The framework's own reach into the stages, <c>RunPipeline</c>, is not checked
/// yet: it moves to a Runs room.)
/// </summary>
public sealed class ArchitectureTests
{
    private const string Collectors = "Periscope.Agent.Collectors";
    private static readonly System.Reflection.Assembly Agent = typeof(Redactor).Assembly;

    public static TheoryData<string> CollectorNamespaces()
        => [.. Types.InAssembly(Agent).That().ResideInNamespace(Collectors).GetTypes()
            .Select(t => t.Namespace!).Where(n => n.StartsWith(Collectors + ".", StringComparison.Ordinal))
            .Select(n => string.Join('.', n.Split('.').Take(4))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

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
        string[] stages = ["Periscope.Agent.Analysis", "Periscope.Agent.Export", "Periscope.Agent.Redaction", "Periscope.Agent.Hosting", "Periscope.Agent.Cli", "Periscope.Agent.Triggers"];

        var result = Types.InAssembly(Agent).That().ResideInNamespace(Collectors).ShouldNot().HaveDependencyOnAny(stages).GetResult();

        Assert.True(result.IsSuccessful, $"collectors reach up into a stage: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void TheCheck_CanFail_ItSeesAKnownReferenceOfTheFrameworkIntoAStage()
    {
        var result = Types.InAssembly(Agent).That().HaveName("RunPipeline").ShouldNot().HaveDependencyOn("Periscope.Agent.Export").GetResult();

        Assert.False(result.IsSuccessful);
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
