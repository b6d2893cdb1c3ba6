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
    /// The first read: the end record with the longest comment a zip may have (what the bundle reader checks first),
    /// plus room for the central directory and JSON entries of a typical bundle.
    /// </summary>
    public const int TailBytes = 128 * 1024;

    /// <summary>Ranges fewer than this many bytes apart are fetched as one.</summary>
    public const long MergeGap = 256 * 1024;

    /// <summary>A local header's extra field may be longer than the directory's copy: this much more is fetched.</summary>
    private const int LocalHeaderSlack = 512;

    private const uint EndSignature = 0x06054b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint DirectorySignature = 0x02014b50;
    private const int EndSize = 22;

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

    /// <summary>The central directory's offset and size from the end record (its Zip64 form when there is one), or null.</summary>
    private static (long Start, long Size)? FindDirectory(SparseBlobStream zip)
    {
        var length = zip.Length;
        var tailLength = (int)Math.Min(length, TailBytes);
        if (tailLength < EndSize)
        {
            return null;
        }

        var tail = new byte[tailLength];
        if (!zip.TryCopy(length - tailLength, tail))
        {
            return null;
        }

        for (var at = tailLength - EndSize; at >= 0; at--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at)) != EndSignature)
            {
                continue;
            }

            long size = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at + 12));
            long start = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at + 16));
            if ((size == 0xFFFFFFFF || start == 0xFFFFFFFF) && at >= 20
                && BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at - 20)) == Zip64LocatorSignature)
            {
                var record = new byte[56];
                var zip64End = BinaryPrimitives.ReadInt64LittleEndian(tail.AsSpan(at - 20 + 8));
                if (zip64End < 0 || zip64End > length - 56 || !zip.TryCopy(zip64End, record)
                    || BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndSignature)
                {
                    return null;
                }

                size = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(40)), long.MaxValue);
                start = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(48)), long.MaxValue);
            }

            return start >= 0 && size >= 0 && start <= length && size <= length - start ? (start, size) : null;
        }

        return null;
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
