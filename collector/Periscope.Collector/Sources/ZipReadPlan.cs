using System.Buffers.Binary;
using System.Text;
using Periscope.Bundle;

namespace Periscope.Collector.Sources;

/// <summary>
/// Fetches, before a zip in a blob is read, the bytes a report reads from it, in as few ranged reads as its layout
/// allows: its tail first (the agent writes the JSON entries last, so the tail usually holds the end record, the
/// central directory and the manifest, facts and findings — one request), then the central directory if the tail did
/// not hold it, then the JSON entries it did not hold, nearby ranges merged. What the plan cannot tell (a Zip64 entry,
/// a local header longer than the directory says) is fetched when the reader gets there.
/// </summary>
internal static class ZipReadPlan
{
    /// <summary>
    /// The first read: the end record with the longest comment a zip may have (what the bundle reader reads first, and
    /// <see cref="FindDirectory"/> with it), plus room for the central directory and JSON entries of a typical bundle.
    /// </summary>
    public const int TailBytes = 128 * 1024;

    /// <summary>Ranges fewer than this many bytes apart are fetched as one.</summary>
    public const long MergeGap = 256 * 1024;

    /// <summary>A local header's extra field may be longer than the directory's copy: this much more is fetched.</summary>
    private const int LocalHeaderSlack = 512;

    private const uint DirectorySignature = 0x02014b50;

    private static readonly string[] Wanted = [BundleSchema.ManifestEntry, BundleSchema.FactsEntry, BundleSchema.FindingsEntry];

    /// <summary>Fetches the tail, the central directory and the JSON entries of the zip behind <paramref name="zip"/>.</summary>
    /// <param name="zip">The blob's stream.</param>
    /// <param name="maxDirectory">A directory larger than this is not fetched ahead (the reader refuses it anyway).</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public static async Task FetchAsync(SparseBlobStream zip, long maxDirectory, CancellationToken cancellationToken)
    {
        var length = zip.Length;
        await zip.FetchAsync([(length - TailBytes, length)], 0, cancellationToken);
        if (FindDirectory(zip) is not { } found || found.Size > maxDirectory)
        {
            return; // not a zip the plan understands: the reader reads what it needs and says what is wrong
        }

        var (directoryStart, directorySize) = found;

        if (!zip.Holds(directoryStart, directoryStart + directorySize))
        {
            await zip.FetchAsync([(directoryStart, directoryStart + directorySize)], MergeGap, cancellationToken);
        }

        var directory = new byte[directorySize];
        if (!zip.TryCopy(directoryStart, directory))
        {
            return;
        }

        var entries = JsonEntries(directory, directoryStart);
        await zip.FetchAsync(entries, MergeGap, cancellationToken);
    }

    /// <summary>
    /// The central directory's offset and size from the end record (the bundle reader's own reading of it, from the
    /// tail already held), or null when there is none or it points outside the blob.
    /// </summary>
    private static (long Start, long Size)? FindDirectory(SparseBlobStream zip)
    {
        if (ZipDirectory.ReadEnd(zip, out _) is not { } end || end.DirectoryOffset > (ulong)zip.Length
            || end.DirectorySize > (ulong)zip.Length - end.DirectoryOffset)
        {
            return null;
        }

        return ((long)end.DirectoryOffset, (long)end.DirectorySize);
    }

    /// <summary>Where the manifest, facts and findings lie (local header, name, extra field and data), from the directory.</summary>
    private static List<(long Start, long End)> JsonEntries(byte[] directory, long directoryStart)
    {
        var ranges = new List<(long, long)>();
        var at = 0;
        while (at + 46 <= directory.Length && BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(at)) == DirectorySignature)
        {
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(at + 20));
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(directory.AsSpan(at + 28));
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(directory.AsSpan(at + 30));
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(directory.AsSpan(at + 32));
            long local = BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(at + 42));
            if (at + 46 + nameLength > directory.Length)
            {
                break;
            }

            var name = Encoding.UTF8.GetString(directory, at + 46, nameLength);
            if (Array.IndexOf(Wanted, name) >= 0 && compressed != 0xFFFFFFFF && local != 0xFFFFFFFF)
            {
                var end = Math.Min(directoryStart, local + 30 + nameLength + extraLength + LocalHeaderSlack + compressed);
                ranges.Add((local, end));
            }

            at += 46 + nameLength + extraLength + commentLength;
        }

        return ranges;
    }
}
