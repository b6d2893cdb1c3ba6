using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>One event seen by a collector, before aggregation into a <see cref="Finding"/>.</summary>
public sealed record Observation
{
    /// <summary>
    /// An attribute on a runtime's CONTAINER_OOMKILLED: it stands only when the kernel's OOM kill of the same container
    /// is seen (a SIGKILL exit the runtime did not call an OOM kill). The analysis decides; collectors only mark.
    /// </summary>
    public const string ConfirmByKernelAttribute = "confirmByKernel";

    /// <summary>How many observations' evidence one finding keeps; a collector need not pass on more.</summary>
    public const int MaxEvidence = 20;

    /// <summary>Finding code (registered in <c>FindingCatalog</c>).</summary>
    public required string Code { get; init; }

    /// <summary>Severity of this event.</summary>
    public required Severity Severity { get; init; }

    /// <summary>One line for a human.</summary>
    public required string Title { get; init; }

    /// <summary>The figures that matter.</summary>
    public string? Detail { get; init; }

    /// <summary>What it is about.</summary>
    public required FindingSubject Subject { get; init; }

    /// <summary>Named details.</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();

    /// <summary>When it happened, where known.</summary>
    public DateTimeOffset? Time { get; init; }

    /// <summary>Where the evidence is.</summary>
    public EvidenceReference? Evidence { get; init; }

    /// <summary>
    /// Observations of one code and subject that differ in this value are separate findings (a crash of each process);
    /// null for the usual folding on code and subject.
    /// </summary>
    public string? Distinct { get; init; }

    /// <summary>Events of this code and subject needed before a finding is raised (for example 3 link flaps).</summary>
    public int MinCount { get; init; } = 1;

    /// <summary>
    /// How many events this observation stands for: 1, or more where a collector folds a storm of like events itself
    /// (it then reports the first and the latest, and the others as a count).
    /// </summary>
    public long Count { get; init; } = 1;
}
