using System.Text.RegularExpressions;
using Periscope.Agent.Analysis;
using Periscope.Agent.Signals;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Signals;

/// <summary>The one signal mapping against the finding registry and its documentation (docs/signals.md, docs/findings.md).</summary>
public sealed partial class SignalMapTests
{
    [Fact]
    public void Map_HasOneRowForEveryRegisteredCode_AndNoOther()
    {
        var codes = SignalMap.All.Select(r => r.Code).ToList();

        Assert.Equal(codes.Count, codes.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(FindingCatalog.All.Select(d => d.Code).Order(StringComparer.Ordinal), codes.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void SignalsDocument_ListsTheMapRowForRow_AndTheCodesOfFindingsDocument()
    {
        var markdown = File.ReadAllText(Fixtures.Docs("signals.md"));
        var rows = MappingRow().Matches(markdown).ToDictionary(m => m.Groups["code"].Value, m => m, StringComparer.Ordinal);
        var findingsCodes = FindingsRow().Matches(File.ReadAllText(Fixtures.Docs("findings.md"))).Select(m => m.Groups["code"].Value);

        Assert.Equal(findingsCodes.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        foreach (var rule in SignalMap.All)
        {
            var row = rows[rule.Code];
            var warning = rule.ConditionSeverity == Severity.Warning ? " (warning)" : string.Empty;
            Assert.Equal(rule.Kind.ToString().ToLowerInvariant(), row.Groups["kind"].Value);
            Assert.Equal(rule.Condition is null ? "—" : $"`{rule.Condition}`{warning}", row.Groups["condition"].Value);
            Assert.Equal(rule.NpdCondition is null ? "—" : $"`{rule.NpdCondition}`{warning}", row.Groups["npd"].Value);
            Assert.Equal(rule.Scope.ToString().ToLowerInvariant(), row.Groups["scope"].Value);
            Assert.Equal(rule.Action switch
            {
                SignalAction.RestartRuntime => "restart-runtime",
                _ => rule.Action.ToString().ToLowerInvariant(),
            }, row.Groups["action"].Value);
        }
    }

    [Fact]
    public void ConditionTypesTable_NamesEachOwnedTypeWithTheCodesThatSetIt()
    {
        var markdown = File.ReadAllText(Fixtures.Docs("signals.md"));
        var types = TypeRow().Matches(markdown).ToDictionary(m => m.Groups["type"].Value,
            m => CodeInRow().Matches(m.Groups["codes"].Value).Select(c => c.Groups[1].Value).Order(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);

        Assert.Equal(SignalMap.OwnedConditions.Order(StringComparer.Ordinal), types.Keys.Order(StringComparer.Ordinal));
        foreach (var type in SignalMap.OwnedConditions)
        {
            Assert.Equal(SignalMap.RulesOf(type, npd: false).Select(r => r.Code).Order(StringComparer.Ordinal), types[type]);
        }
    }

    [Fact]
    public void Rules_ClusterWideCausesAreNeverConditions_AndOnlyNodeConditionsRecommendRepair()
    {
        Assert.Contains(SignalMap.All, r => r.Scope == SignalScope.Cluster);
        foreach (var rule in SignalMap.All)
        {
            if (rule.Scope == SignalScope.Cluster)
            {
                Assert.True(rule.Condition is null && rule.NpdCondition is null && rule.Action == SignalAction.None, rule.Code);
            }

            if (rule.Action != SignalAction.None)
            {
                Assert.True(rule.Condition is not null, $"{rule.Code} recommends {rule.Action} but holds no condition");
            }

            if (rule.Kind == SignalKind.None)
            {
                Assert.True(rule.Condition is null && rule.NpdCondition is null, rule.Code);
            }

            Assert.False(string.IsNullOrWhiteSpace(rule.Why), rule.Code);
        }

        Assert.All(SignalMap.OwnedConditions, t => Assert.StartsWith(SignalMap.ConditionPrefix, t, StringComparison.Ordinal));
        Assert.All(SignalMap.NpdConditions, t => Assert.False(t.StartsWith(SignalMap.ConditionPrefix, StringComparison.Ordinal), t));
        Assert.Equal(["FrequentContainerdRestart", "FrequentKubeletRestart", "KernelDeadlock", "ReadonlyFilesystem"], SignalMap.NpdConditions.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("RUNTIME_NETWORK_NOT_READY", "RuntimeNetworkNotReady")]
    [InlineData("KERNEL_OOM_NO_VICTIM", "KernelOomNoVictim")]
    [InlineData("GPU_XID", "GpuXid")]
    public void Reason_IsTheCodeInPascalCase_AndLeadsBackToIt(string code, string reason)
    {
        Assert.Equal(reason, SignalMap.ReasonOf(code));
        Assert.Equal(code, SignalMap.CodeOfReason(reason));
    }

    [GeneratedRegex(@"^\| `(?<code>[A-Z0-9_]+)` \| (?<kind>signal|event|none) \| (?<condition>[^|]+?) \| (?<npd>[^|]+?) \| (?<scope>[a-z]+) \| (?<action>[a-z-]+) \| .+ \|$", RegexOptions.Multiline)]
    private static partial Regex MappingRow();

    [GeneratedRegex(@"^\| `(?<type>Periscope[A-Za-z]+)` \| (?<codes>[^|]+) \|$", RegexOptions.Multiline)]
    private static partial Regex TypeRow();

    [GeneratedRegex(@"`([A-Z0-9_]+)`")]
    private static partial Regex CodeInRow();

    [GeneratedRegex(@"^\| `(?<code>[A-Z0-9_]+)` \| [a-z]+ \|", RegexOptions.Multiline)]
    private static partial Regex FindingsRow();
}
