using Periscope.Bundle;

namespace Periscope.Agent.Signals;

/// <summary>What a finding code means for automation: one row of docs/signals.md.</summary>
/// <param name="Code">The finding code (docs/findings.md).</param>
/// <param name="Kind">Whether it is a signal at all, and whether each new occurrence is also a Kubernetes Event.</param>
/// <param name="Condition">The Periscope-owned node condition type it holds True, or null.</param>
/// <param name="NpdCondition">The node-problem-detector condition type it holds True when that option is on, or null.</param>
/// <param name="ConditionSeverity">The least severity of the finding that sets a condition (critical unless the row says otherwise).</param>
/// <param name="Scope">Node, or cluster: a cause that may be cluster-wide is never a node condition.</param>
/// <param name="Action">The action it recommends to an auto-repair check.</param>
/// <param name="Why">Why that action, in a line.</param>
internal sealed record SignalRule(
    string Code, SignalKind Kind, string? Condition, string? NpdCondition, Severity ConditionSeverity, SignalScope Scope, SignalAction Action, string Why)
{
    /// <summary>The least severity of a finding that is a signal at all: info findings never are.</summary>
    public const Severity SignalSeverity = Severity.Warning;

    /// <summary>The condition reason for this code: the code in PascalCase (RUNTIME_NOT_READY → RuntimeNotReady).</summary>
    public string Reason => SignalMap.ReasonOf(Code);
}

internal enum SignalKind
{
    /// <summary>Not a signal: recorded in the bundle and the report only.</summary>
    None,

    /// <summary>An active signal while its finding stands (and, mapped, a condition).</summary>
    Signal,

    /// <summary>A signal that is also published as a Kubernetes Event on each new occurrence.</summary>
    Event,
}
