using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Periscope.Bundle.Facts;

namespace Periscope.Bundle;

/// <summary>
/// What a report reads of a bundle — its manifest without the collectors' file and command lists, its facts and its
/// findings — carried in the status record's blob metadata (<see cref="StoreLayout.ReportDigestMetadata"/>) when it
/// fits, so a reader builds a run's report from one listing instead of a read of every zip. Encoded as compact JSON,
/// gzip, base64 (standard alphabet, padded). A copy made by the writer from the sealed zip: the zip stays the truth,
/// and a reader that finds the copy missing, undecodable or disagreeing with the status record reads the zip.
/// </summary>
public sealed record ReportDigest
{
    /// <summary>The longest digest decompressed that a reader accepts (a gzip bomb is refused, not expanded).</summary>
    public const int MaxDecodedBytes = 512 * 1024;

    private static readonly BundleJsonContext Compact = new(new JsonSerializerOptions(BundleJsonContext.Default.Options) { WriteIndented = false });

    /// <summary>The bundle's manifest, its collectors' <c>files</c> and <c>commands</c> left out.</summary>
    [JsonRequired]
    public required Manifest Manifest { get; init; }

    /// <summary>The bundle's facts.json.</summary>
    [JsonRequired]
    public required FactsDocument Facts { get; init; }

    /// <summary>The bundle's findings.json.</summary>
    [JsonRequired]
    public required FindingsDocument Findings { get; init; }

    /// <summary>The digest of a bundle's documents, or null when its encoding is longer than <paramref name="maxChars"/>.</summary>
    public static string? Encode(Manifest manifest, FactsDocument facts, FindingsDocument findings, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var digest = new ReportDigest
        {
            Manifest = manifest with { Collectors = [.. manifest.Collectors.Select(c => c with { Files = [], Commands = null })] },
            Facts = facts,
            Findings = findings,
        };
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            JsonSerializer.Serialize(gzip, digest, Compact.ReportDigest);
        }

        // base64 is 4 characters per 3 bytes, padded.
        return (compressed.Length + 2) / 3 * 4 > maxChars ? null : Convert.ToBase64String(compressed.GetBuffer(), 0, (int)compressed.Length);
    }

    /// <summary>The digest in a metadata value, or null when it is absent, not base64, not gzip, too large or not a valid digest.</summary>
    public static ReportDigest? TryDecode(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 64 * 1024)
        {
            return null;
        }

        var bytes = new byte[value.Length];
        if (!Convert.TryFromBase64String(value, bytes, out var length))
        {
            return null;
        }

        try
        {
            // Inflated a chunk at a time into a buffer that grows with what is there (a run reads thousands at once).
            using var gzip = new GZipStream(new MemoryStream(bytes, 0, length), CompressionMode.Decompress);
            using var output = new MemoryStream(length * 4);
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = gzip.Read(chunk)) > 0)
            {
                if (output.Length + read > MaxDecodedBytes)
                {
                    return null;
                }

                output.Write(chunk, 0, read);
            }

            var decoded = output.GetBuffer().AsSpan(0, (int)output.Length);
            if (BundleShape.FindNullElement(decoded) is not null)
            {
                return null;
            }

            // Judged as a reader of the zip judges the documents: readable versions, whole shapes, the findings limit.
            var digest = JsonSerializer.Deserialize(decoded, Compact.ReportDigest);
            return digest is null
                   || BundleSchema.CheckReadable(digest.Manifest.SchemaVersion, BundleSchema.ManifestEntry) is not null
                   || BundleSchema.CheckReadable(digest.Facts.SchemaVersion, BundleSchema.FactsEntry) is not null
                   || BundleSchema.CheckReadable(digest.Findings.SchemaVersion, BundleSchema.FindingsEntry) is not null
                   || BundleShape.Check(digest.Manifest).Count > 0 || BundleShape.Check(digest.Facts).Count > 0 || BundleShape.Check(digest.Findings).Count > 0
                   || digest.Findings.Findings.Count > BundleLimits.Default.MaxFindings
                ? null
                : digest;
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or NotSupportedException)
        {
            return null;
        }
    }
}
