using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>
/// A node's signals for automation as they stood at one moment: the verdict, the recommended action and the signals
/// behind them. Derived from findings by the agent's one signal mapping (docs/signals.md), so the bundle, the report,
/// the node's conditions, <c>GET /v1/signals</c> and the metrics tell the same story. Written into
/// <c>findings.json</c> (schema 1.1) as the signals when the bundle was sealed.
/// </summary>
public sealed record NodeSignals
{
    /// <summary>When the signals were evaluated.</summary>
    [JsonRequired]
    public DateTimeOffset EvaluatedAt { get; init; }

    /// <summary><c>healthy</c>, <c>degraded</c> or <c>unhealthy</c>.</summary>
    [JsonRequired]
    public SignalVerdict Verdict { get; init; }

    /// <summary>What an auto-repair check should do: <c>none</c>, <c>restart-runtime</c>, <c>reboot</c> or <c>replace</c>.</summary>
    [JsonRequired]
    public SignalAction Action { get; init; }

    /// <summary>Why that action (or why none), in a line.</summary>
    [JsonRequired]
    public string Reason { get; init; } = string.Empty;

    /// <summary>The active signals, worst first.</summary>
    [JsonRequired]
    public IReadOnlyList<Signal> Signals { get; init; } = [];
}

/// <summary>One active signal: a finding code on a subject, mapped to what it means for automation.</summary>
public sealed record Signal
{
    /// <summary>The finding code.</summary>
    [JsonRequired]
    public string Code { get; init; } = string.Empty;

    /// <summary>The finding's severity when last seen.</summary>
    [JsonRequired]
    public Severity Severity { get; init; }

    /// <summary>The finding's subject.</summary>
    [JsonRequired]
    public FindingSubject Subject { get; init; } = new(SubjectKind.Node, string.Empty);

    /// <summary>The finding's title.</summary>
    [JsonRequired]
    public string Title { get; init; } = string.Empty;

    /// <summary>The Periscope node condition type it holds True, if any (docs/signals.md); absent when it holds none.</summary>
    public string? Condition { get; init; }

    /// <summary><c>node</c>: a cause on this node; <c>cluster</c>: a cause that may be cluster-wide, never a condition.</summary>
    [JsonRequired]
    public SignalScope Scope { get; init; }

    /// <summary>The action this signal alone recommends.</summary>
    [JsonRequired]
    public SignalAction Action { get; init; }

    /// <summary><c>active</c> (seen in the latest check that covers it) or <c>holding-down</c> (no longer seen; kept until <see cref="ClearsAt"/>).</summary>
    [JsonRequired]
    public SignalState State { get; init; }

    /// <summary>When the signal became active.</summary>
    [JsonRequired]
    public DateTimeOffset Since { get; init; }

    /// <summary>When its finding was last seen (the last event's time for a logged event).</summary>
    [JsonRequired]
    public DateTimeOffset LastSeen { get; init; }

    /// <summary>When it clears unless seen again (holding-down only).</summary>
    public DateTimeOffset? ClearsAt { get; init; }

    /// <summary>Occurrences seen while active.</summary>
    [JsonRequired]
    public long Count { get; init; } = 1;
}

/// <summary>A node's verdict for automation.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SignalVerdict>))]
public enum SignalVerdict
{
    /// <summary>No active signal.</summary>
    [JsonStringEnumMemberName("healthy")] Healthy = 0,

    /// <summary>Active signals, none of which holds a node condition True.</summary>
    [JsonStringEnumMemberName("degraded")] Degraded = 1,

    /// <summary>A node-local problem holds a node condition True.</summary>
    [JsonStringEnumMemberName("unhealthy")] Unhealthy = 2,
}

/// <summary>Recommended actions, mildest first (a stronger one covers a milder one).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SignalAction>))]
public enum SignalAction
{
    /// <summary>Nothing an auto-repair can do on this node fixes it.</summary>
    [JsonStringEnumMemberName("none")] None = 0,

    /// <summary>Restart the container runtime.</summary>
    [JsonStringEnumMemberName("restart-runtime")] RestartRuntime = 1,

    /// <summary>Reboot the node.</summary>
    [JsonStringEnumMemberName("reboot")] Reboot = 2,

    /// <summary>Replace (reimage) the node.</summary>
    [JsonStringEnumMemberName("replace")] Replace = 3,
}

/// <summary>Where a signal's cause lies.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SignalScope>))]
public enum SignalScope
{
    /// <summary>On this node.</summary>
    [JsonStringEnumMemberName("node")] Node = 0,

    /// <summary>Possibly cluster-wide (never a node condition).</summary>
    [JsonStringEnumMemberName("cluster")] Cluster = 1,
}

/// <summary>A signal's hold-down state.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SignalState>))]
public enum SignalState
{
    /// <summary>Seen in the latest check that covers it.</summary>
    [JsonStringEnumMemberName("active")] Active = 0,

    /// <summary>No longer seen; kept until the hold-down runs out.</summary>
    [JsonStringEnumMemberName("holding-down")] HoldingDown = 1,
}
