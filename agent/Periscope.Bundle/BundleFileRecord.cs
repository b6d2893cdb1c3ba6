namespace Periscope.Bundle;

/// <summary>One entry of a bundle as the manifest records it.</summary>
public sealed record BundleFileRecord
{
    /// <summary>Bundle-relative path with forward slashes (<c>kernel/kmsg.log</c>).</summary>
    public required string Path { get; init; }

    /// <summary>Size in bytes of the entry as stored (after redaction and cuts).</summary>
    public required long Size { get; init; }

    /// <summary>Lower-case hex SHA-256 of the entry as stored.</summary>
    public required string Sha256 { get; init; }

    /// <summary>Redactions made in this entry, per rule name (never the values).</summary>
    public IReadOnlyDictionary<string, long>? Redactions { get; init; }

    /// <summary>Size the source had before it was cut, where it was cut.</summary>
    public long? OriginalSize { get; init; }

    /// <summary>Size kept where the source was cut (equals <see cref="Size"/> unless redaction changed it).</summary>
    public long? KeptSize { get; init; }

    /// <summary>Offset in the source of the first byte kept, where the source was cut.</summary>
    public long? Offset { get; init; }

    /// <summary>Why the entry is not the whole source, where it is not (for example an output cap).</summary>
    public string? Note { get; init; }
}
