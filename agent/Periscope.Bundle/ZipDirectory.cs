using System.Buffers.Binary;

namespace Periscope.Bundle;

/// <summary>
/// Reads a zip's end-of-central-directory record (and its Zip64 form) from the end of a seekable stream, so that the
/// entry count and directory size can be judged before the directory itself is loaded.
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
            if ((entries == 0xFFFF || size == 0xFFFFFFFF) && at >= 20
                && BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at - 20)) == Zip64LocatorSignature)
            {
                var zip64End = BinaryPrimitives.ReadInt64LittleEndian(tail.AsSpan(at - 20 + 8));
                if (zip64End < 0 || zip64End > length - 56)
                {
                    return "the zip's Zip64 end record points outside the file";
                }

                var record = new byte[56];
                stream.Position = zip64End;
                stream.ReadExactly(record);
                if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndSignature)
                {
                    return "the zip's Zip64 end record is missing";
                }

                entries = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(32));
                size = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(40));
            }

            if (entries > (ulong)limits.MaxEntries)
            {
                return $"the zip has {entries} entries, over the limit of {limits.MaxEntries}";
            }

            return size > (ulong)limits.MaxCentralDirectorySize
                ? $"the zip's central directory is {size} bytes, over the limit of {limits.MaxCentralDirectorySize}"
                : null;
        }

        return null;
    }
}
