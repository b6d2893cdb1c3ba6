namespace Periscope.Agent.Collection.Node;

/// <summary>One kernel log record, from whichever source.</summary>
internal sealed record KmsgRecord
{
    /// <summary>Syslog facility (0 = kernel), where the source tells it.</summary>
    public int? Facility { get; init; }

    /// <summary>Syslog level 0-7, where the source tells it.</summary>
    public int? Level { get; init; }

    /// <summary>kmsg sequence number, where known.</summary>
    public long? Sequence { get; init; }

    /// <summary>Microseconds since boot, where known.</summary>
    public long? MonotonicMicroseconds { get; init; }

    /// <summary>Wall-clock time, where it could be told.</summary>
    public DateTimeOffset? Time { get; init; }

    /// <summary>The message with kmsg escapes (<c>\x0a</c>) decoded; what the rules classify.</summary>
    public required string Text { get; init; }

    /// <summary>True for records of the kernel facility (the only ones classified).</summary>
    public bool IsKernel => Facility == 0;
}
