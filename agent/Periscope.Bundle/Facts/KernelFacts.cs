using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>What the kernel log reader saw.</summary>
public sealed record KernelFacts
{
    /// <summary>
    /// Where the records came from: <c>kmsg</c> (device), <c>kmsg-file</c> (captured), <c>syslog</c> (the kernel's
    /// buffer by syslog(2)), <c>kern.log</c>, <c>journal</c> or <c>none</c>.
    /// </summary>
    public required string Source { get; init; }

    /// <summary>Why the preferred sources could not be used, in order tried.</summary>
    [JsonRequired]
    public IReadOnlyList<string> SourceErrors { get; init; } = [];

    /// <summary>Records read inside the window.</summary>
    [JsonRequired]
    public long Records { get; init; }

    /// <summary>Of those, records of the kernel facility (the only ones classified).</summary>
    [JsonRequired]
    public long KernelRecords { get; init; }

    /// <summary>Records lost because the ring buffer overwrote them while reading.</summary>
    [JsonRequired]
    public long RecordsLost { get; init; }

    /// <summary>Lines that could not be parsed and were kept as text only.</summary>
    [JsonRequired]
    public long UnparsedLines { get; init; }

    /// <summary>Whether the size bound cut the window (older records were not read).</summary>
    [JsonRequired]
    public bool Truncated { get; init; }

    /// <summary>Boot time used to place records in wall-clock time, where known.</summary>
    public DateTimeOffset? BootTime { get; init; }

    /// <summary>Time of the oldest record read, where known.</summary>
    public DateTimeOffset? FirstRecord { get; init; }

    /// <summary>Time of the newest record read, where known.</summary>
    public DateTimeOffset? LastRecord { get; init; }

    /// <summary>Findings per code before aggregation (events seen).</summary>
    [JsonRequired]
    public IReadOnlyDictionary<string, long> Events { get; init; } = new Dictionary<string, long>();

    /// <summary>
    /// The kernel's messages of the boot before the current one, read from the persistent journal when the current
    /// boot's came from the kernel's buffer (which starts empty at every boot). Absent when the source above already
    /// spans boots (<c>kern.log</c>, <c>journal</c>) or nothing was read.
    /// </summary>
    public KernelPreviousBootFacts? PreviousBoot { get; init; }
}

/// <summary>What was read of the previous boot's kernel messages (evidence <c>kernel/previous-boot.log</c>).</summary>
public sealed record KernelPreviousBootFacts
{
    /// <summary><c>journal</c> when its messages were read, <c>none</c> when they could not be (see <see cref="Error"/>).</summary>
    public required string Source { get; init; }

    /// <summary>Why none were read: no persistent journal, no earlier boot in it, or journalctl failed.</summary>
    public string? Error { get; init; }

    /// <summary>The previous boot's id (_BOOT_ID), where the journal holds one.</summary>
    public string? BootId { get; init; }

    /// <summary>Its first and last journal entries: when it started, and about when it ended.</summary>
    public DateTimeOffset? FirstEntry { get; init; }

    /// <inheritdoc cref="FirstEntry"/>
    public DateTimeOffset? LastEntry { get; init; }

    /// <summary>Its kernel records read inside the run's window.</summary>
    [JsonRequired]
    public long Records { get; init; }

    /// <summary>Whether the entry or size bound cut the read (older records were not read).</summary>
    [JsonRequired]
    public bool Truncated { get; init; }

    /// <summary>Findings per code before aggregation (events seen in the previous boot).</summary>
    [JsonRequired]
    public IReadOnlyDictionary<string, long> Events { get; init; } = new Dictionary<string, long>();
}
