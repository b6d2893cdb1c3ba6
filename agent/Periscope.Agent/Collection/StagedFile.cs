namespace Periscope.Agent.Collection;

/// <summary>An evidence file written by a collector to the staging area, waiting to go into the bundle.</summary>
/// <param name="BundlePath">Bundle-relative path (<c>kernel/kmsg.log</c>).</param>
/// <param name="StagedPath">Where it is on disk now.</param>
internal sealed record StagedFile(string BundlePath, string StagedPath)
{
    /// <summary>Why it is not the whole source, where it is not.</summary>
    public string? Note { get; set; }

    /// <summary>Bytes the collector tried to write, where more than were kept.</summary>
    public long? AttemptedSize { get; set; }

    /// <summary>Where the part kept in the bundle starts in what the collector wrote, when the bundle's bounds cut it.</summary>
    public long? KeptFrom { get; set; }

    /// <summary>What the collector wrote (and staged), before the bundle's bounds cut it.</summary>
    public long? StagedSize { get; set; }

    /// <summary>Secrets replaced in it, by rule (filled while it is written).</summary>
    public Dictionary<string, long> Redactions { get; } = new(StringComparer.Ordinal);
}
