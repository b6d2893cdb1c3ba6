using Periscope.Bundle;

namespace Periscope.Agent.Signals;

/// <summary>
/// <c>GET /v1/signals</c>: what an auto-repair check needs to decide, without parsing a bundle
/// (docs/schemas/signals.schema.json). Schema version 1.x, minor bumps additive.
/// </summary>
internal sealed record SignalsDocument
{
    public const string Version = "1.0";

    public string SchemaVersion { get; init; } = Version;

    public required string Node { get; init; }

    public required DateTimeOffset EvaluatedAt { get; init; }

    public required SignalVerdict Verdict { get; init; }

    public required SignalAction Action { get; init; }

    public required string Reason { get; init; }

    public required IReadOnlyList<Signal> Signals { get; init; }

    public required double HoldDownSeconds { get; init; }

    /// <summary>Checks taken in since start; 0: nothing is known yet, and the verdict <c>healthy</c> only means no signal.</summary>
    public required long Observations { get; init; }

    public DateTimeOffset? LastObservation { get; init; }

    public required IReadOnlyList<ConditionView> Conditions { get; init; }

    public static SignalsDocument Build(string node, SignalTracker tracker, SignalOptions options, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        ArgumentNullException.ThrowIfNull(options);
        var signals = tracker.Evaluate(now);
        return new SignalsDocument
        {
            Node = node,
            EvaluatedAt = signals.EvaluatedAt,
            Verdict = signals.Verdict,
            Action = signals.Action,
            Reason = signals.Reason,
            Signals = signals.Signals,
            HoldDownSeconds = options.HoldDown.TotalSeconds,
            Observations = tracker.Observations,
            LastObservation = tracker.LastObservation,
            Conditions = tracker.DesiredConditions(now, SignalMap.ConfiguredConditions(options.Conditions), options.Conditions.NpdCompatible)
                .Select(c => new ConditionView(c.Type, c.True ? "True" : "False", c.Reason, c.Message)).ToList(),
        };
    }
}

/// <summary>A node condition as Periscope wants it published.</summary>
internal sealed record ConditionView(string Type, string Status, string Reason, string Message);
