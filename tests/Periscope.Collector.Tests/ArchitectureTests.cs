using NetArchTest.Rules;
using Periscope.Collector.Correlation;
using Xunit;

namespace Periscope.Collector.Tests;

/// <summary>
/// The collector service's arrows, read from its IL (references inside method bodies count). One direction:
/// <c>Cli</c> → <c>Incident</c> → <c>Api</c> → <c>Reports</c> → <c>Correlation</c> → <c>Sources</c> → <c>Periscope.Bundle</c>.
/// docs/architecture.md draws the rooms.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly System.Reflection.Assembly Collector = typeof(CorrelationContext).Assembly;

    /// <summary>Each room and the rooms above it, which it must never name.</summary>
    public static TheoryData<string, string[]> RoomsAndWhatIsAboveThem() => new()
    {
        { "Periscope.Collector.Sources", ["Periscope.Collector.Correlation", "Periscope.Collector.Reports", "Periscope.Collector.Api", "Periscope.Collector.Incident", "Periscope.Collector.Cli"] },
        { "Periscope.Collector.Correlation", ["Periscope.Collector.Reports", "Periscope.Collector.Api", "Periscope.Collector.Incident", "Periscope.Collector.Cli"] },
        { "Periscope.Collector.Reports", ["Periscope.Collector.Api", "Periscope.Collector.Incident", "Periscope.Collector.Cli"] },
        { "Periscope.Collector.Api", ["Periscope.Collector.Incident", "Periscope.Collector.Cli"] },
        { "Periscope.Collector.Incident", ["Periscope.Collector.Cli"] },
    };

    [Theory]
    [MemberData(nameof(RoomsAndWhatIsAboveThem))]
    public void ARoom_NamesNoRoomAboveIt(string room, string[] above)
    {
        var types = Types.InAssembly(Collector).That().ResideInNamespace(room).GetTypes().ToList();
        var result = Types.InAssembly(Collector).That().ResideInNamespace(room).ShouldNot().HaveDependencyOnAny(above).GetResult();

        Assert.NotEmpty(types); // the room exists: a renamed namespace does not pass by matching nothing
        Assert.True(result.IsSuccessful, $"{room} reaches up into {string.Join(" or ", above)}: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void TheCheck_CanFail_ItSeesAReferenceDownwardsInsideAMethodBody()
    {
        // The report builder runs the correlation rules from a method body: the check must see that reference.
        var result = Types.InAssembly(Collector).That().HaveName("ReportBuilder").ShouldNot().HaveDependencyOn("Periscope.Collector.Correlation").GetResult();

        Assert.False(result.IsSuccessful);
    }
}
