namespace Periscope.Bundle;

/// <summary>
/// Where things live in a store (a directory or a Blob container): <c>&lt;runId&gt;/&lt;node&gt;.zip</c> and, written
/// after it, <c>&lt;runId&gt;/&lt;node&gt;.status.json</c>. Paths use forward slashes.
/// </summary>
public static class StoreLayout
{
    /// <summary>Suffix of a bundle.</summary>
    public const string BundleSuffix = ".zip";

    /// <summary>Suffix of a status record.</summary>
    public const string StatusSuffix = ".status.json";

    /// <summary>
    /// Metadata of a status record's blob in Blob Storage: the record's <c>startedAt</c> (UTC RFC 3339), so a reader can
    /// order runs from a listing without downloading each record. A hint only: the record itself is the truth.
    /// </summary>
    public const string StartedAtMetadata = "startedat";

    /// <summary>
    /// Metadata of a status record's blob in Blob Storage: the record's exact bytes, base64 (standard alphabet, padded),
    /// written in the same request as the record, so a reader gets every record of a run from one listing. A reader
    /// judges these bytes exactly as the record's own, and downloads the record when the value is absent, not base64,
    /// or not a valid record. Omitted when the record is longer than <see cref="MaxStatusRecordMetadataBytes"/>.
    /// </summary>
    public const string StatusRecordMetadata = "statusrecord";

    /// <summary>The longest record carried in <see cref="StatusRecordMetadata"/> (Blob Storage allows 8 KiB of metadata in all).</summary>
    public const int MaxStatusRecordMetadataBytes = 4096;

    /// <summary>
    /// Metadata of a status record's blob in Blob Storage: the bundle's <see cref="ReportDigest"/> (its manifest without
    /// file lists, its facts and findings; JSON, gzip, base64), written in the same request as the record when the
    /// metadata stays within <see cref="MaxMetadataBytes"/>, so a report reads a run from its listing alone. A copy:
    /// readers read the zip when it is absent, undecodable or disagrees with the record.
    /// </summary>
    public const string ReportDigestMetadata = "reportdigest";

    /// <summary>Blob Storage's limit on a blob's metadata, names and values together.</summary>
    public const int MaxMetadataBytes = 8 * 1024;

    /// <summary>
    /// Suffix of a node's started marker, <c>&lt;runId&gt;/&lt;node&gt;.started</c>: written by the agent when it starts a
    /// run (before any bundle), so a watcher outside the node sees that it is collecting. A small JSON document
    /// (<see cref="StartedMarker"/>); never overwritten; readers of bundles ignore it.
    /// </summary>
    public const string StartedSuffix = ".started";

    /// <summary>Store-relative path of a node's started marker.</summary>
    public static string StartedPath(string runId, string node)
        => $"{RunId.Validate(runId)}/{NodeName.Validate(node)}{StartedSuffix}";

    /// <summary>Tells the node a started marker's file name is about.</summary>
    public static bool TryParseStartedFileName(string fileName, out string node)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        node = fileName.EndsWith(StartedSuffix, StringComparison.Ordinal) ? fileName[..^StartedSuffix.Length] : string.Empty;
        return node.Length > 0 && NodeName.IsValid(node);
    }

    /// <summary>Store-relative path of a node's bundle.</summary>
    public static string BundlePath(string runId, string node)
        => $"{RunId.Validate(runId)}/{NodeName.Validate(node)}{BundleSuffix}";

    /// <summary>Store-relative path of a node's status record.</summary>
    public static string StatusPath(string runId, string node)
        => $"{RunId.Validate(runId)}/{NodeName.Validate(node)}{StatusSuffix}";

    /// <summary>Tells the node a file name of a run folder is about, and whether it is a bundle or a status record.</summary>
    /// <returns><see langword="false"/> when the name is neither.</returns>
    public static bool TryParseFileName(string fileName, out string node, out bool isStatus)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        node = string.Empty;
        isStatus = fileName.EndsWith(StatusSuffix, StringComparison.Ordinal);
        var suffix = isStatus ? StatusSuffix : BundleSuffix;
        if (!fileName.EndsWith(suffix, StringComparison.Ordinal))
        {
            return false;
        }

        node = fileName[..^suffix.Length];
        return NodeName.IsValid(node);
    }
}
