using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Collector.Sources;

/// <summary>
/// One node's entry in a run, as read from the store: its status record and the small JSON documents of its bundle,
/// or why it could not be trusted.
/// </summary>
internal sealed record NodeBundle
{
    public required string Node { get; init; }

    /// <summary>Store-relative path of the bundle (<c>run/node.zip</c>).</summary>
    public required string BundlePath { get; init; }

    public StatusRecord? Status { get; init; }

    /// <summary>When the store received the status record, by the store's clock (a file's or blob's last write).</summary>
    public DateTimeOffset? ReceivedAt { get; init; }
    public Manifest? Manifest { get; init; }
    public FactsDocument? Facts { get; init; }
    public FindingsDocument? Findings { get; init; }

    /// <summary>Why the bundle was rejected, or null when it was read and verified.</summary>
    public string? Rejected { get; init; }

    /// <summary>True when the zip has no status record (still being written, or its writer died).</summary>
    public bool Incomplete { get; init; }

    /// <summary>True when the store could not be read for it (an I/O or storage failure, not a judgement of the bundle).</summary>
    public bool ReadFailed { get; init; }

    public bool IsUsable => Rejected is null && !Incomplete && Manifest is not null;
}
