using System.Buffers.Binary;

namespace Periscope.Bundle;

/// <summary>
/// Reads a zip's end-of-central-directory record (and its Zip64 form) from the end of a seekable stream, so that the
/// entry count and directory size can be judged before the directory itself is loaded (and a reader that fetches
/// ranges knows where the directory is).
/// </summary>
internal static class ZipDirectory
{
    private const uint EndSignature = 0x06054b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const int EndSize = 22;
    private const int MaxComment = 0xFFFF;

    /// <returns>Null when the directory is within the limits (or the end record is not found: the zip reader then says
    /// why), else the reason it is refused.</returns>
    public static string? Check(Stream stream, BundleLimits limits)
    {
        if (ReadEnd(stream, out var problem) is not { } end)
        {
            return problem;
        }

        if (end.Entries > (ulong)limits.MaxEntries)
        {
            return $"the zip has {end.Entries} entries, over the limit of {limits.MaxEntries}";
        }

        return end.DirectorySize > (ulong)limits.MaxCentralDirectorySize
            ? $"the zip's central directory is {end.DirectorySize} bytes, over the limit of {limits.MaxCentralDirectorySize}"
            : null;
    }

    /// <summary>
    /// The end record (its Zip64 form when the classic one points there), read from the last bytes of the stream: what
    /// <see cref="Check"/> judges, and where a reader that fetches ranges finds the central directory.
    /// </summary>
    /// <returns>The record; null when none is found (<paramref name="problem"/> null: the zip reader says why) or its
    /// Zip64 form is unusable (<paramref name="problem"/> says why).</returns>
    public static ZipEnd? ReadEnd(Stream stream, out string? problem)
    {
        problem = null;
        var length = stream.Length;
        var tailLength = (int)Math.Min(length, EndSize + MaxComment + 20);
        if (tailLength < EndSize)
        {
            return null;
        }

        var tail = new byte[tailLength];
        stream.Position = length - tailLength;
        stream.ReadExactly(tail);
        for (var at = tailLength - EndSize; at >= 0; at--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at)) != EndSignature)
            {
                continue;
            }

            ulong entries = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(at + 10));
            ulong size = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at + 12));
            ulong offset = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at + 16));
            if ((entries == 0xFFFF || size == 0xFFFFFFFF || offset == 0xFFFFFFFF) && at >= 20
                && BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at - 20)) == Zip64LocatorSignature)
            {
                var zip64End = BinaryPrimitives.ReadInt64LittleEndian(tail.AsSpan(at - 20 + 8));
                if (zip64End < 0 || zip64End > length - 56)
                {
                    problem = "the zip's Zip64 end record points outside the file";
                    return null;
                }

                var record = new byte[56];
                stream.Position = zip64End;
                stream.ReadExactly(record);
                if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndSignature)
                {
                    problem = "the zip's Zip64 end record is missing";
                    return null;
                }

                entries = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(32));
                size = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(40));
                offset = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(48));
            }

            return new ZipEnd(entries, size, offset);
        }

        return null;
    }
}

/// <summary>What a zip's end record says: how many entries, and how large its central directory is and where it starts.</summary>
internal readonly record struct ZipEnd(ulong Entries, ulong DirectorySize, ulong DirectoryOffset);
