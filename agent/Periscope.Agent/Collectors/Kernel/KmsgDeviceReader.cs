using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Periscope.Agent.Collection.Node;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>Reads one record from a kmsg device into the buffer; returns the byte count, or -1 with errno set.</summary>
internal delegate int KmsgReadFunction(Span<byte> buffer, out int errno);

/// <summary>
/// Reads /dev/kmsg as the kernel documents it: one record per read(2), opened non-blocking so that EAGAIN marks the
/// end of the buffer instead of waiting for new records; EPIPE means records were overwritten while we read — the
/// loss is counted (from the sequence gap) and reading goes on.
/// See https://www.kernel.org/doc/Documentation/ABI/testing/dev-kmsg.
/// </summary>
internal static partial class KmsgDeviceReader
{
    public const int Eagain = 11;
    public const int Epipe = 32;
    public const int Eintr = 4;
    private const int BufferSize = 16 * 1024; // a record is at most 8 KiB (CONSOLE_EXT_LOG_MAX)

    /// <summary>Reads every record now in the device's buffer, through a descriptor opened non-blocking.</summary>
    /// <param name="device">The device, opened by <see cref="Collection.INodeFileSystem.OpenCharacterDevice"/>.</param>
    /// <param name="path">Its path, for messages.</param>
    /// <param name="bootTime">Boot time, to place records in wall-clock time.</param>
    /// <param name="sink">Receives the records.</param>
    /// <param name="maxBytes">Most bytes of records taken (the newest).</param>
    /// <param name="stats">Counts what was read and lost.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>Null on success, else why the device could not be read.</returns>
    public static unsafe string? Read(Microsoft.Win32.SafeHandles.SafeFileHandle device, string path, DateTimeOffset? bootTime, KernelRecordSink sink, long maxBytes, KmsgReadStats stats, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        var added = false;
        device.DangerousAddRef(ref added);
        try
        {
            var fd = (int)device.DangerousGetHandle();
            return ReadRecords(
                (Span<byte> buffer, out int errno) =>
                {
                    fixed (byte* pointer = buffer)
                    {
                        var read = ReadFd(fd, pointer, buffer.Length);
                        errno = read < 0 ? Marshal.GetLastPInvokeError() : 0;
                        return (int)read;
                    }
                },
                path, bootTime, sink, maxBytes, stats, cancellationToken);
        }
        finally
        {
            device.DangerousRelease();
        }
    }

    /// <summary>The read loop, over any source of single records (the device, or a scripted one in tests).</summary>
    internal static string? ReadRecords(
        KmsgReadFunction read, string path, DateTimeOffset? bootTime, KernelRecordSink sink, long maxBytes, KmsgReadStats stats, CancellationToken cancellationToken)
    {
        // Pooled: the signal loop reads the device every few seconds.
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var chars = ArrayPool<char>.Shared.Rent(BufferSize); // UTF-8 never decodes to more chars than it has bytes
        try
        {
            return ReadRecords(read, path, bootTime, sink, maxBytes, stats, buffer.AsSpan(0, BufferSize), chars, cancellationToken);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string? ReadRecords(
        KmsgReadFunction read, string path, DateTimeOffset? bootTime, KernelRecordSink sink, long maxBytes, KmsgReadStats stats, Span<byte> buffer, char[] chars, CancellationToken cancellationToken)
    {
        long? lastSequence = null;
        var overrun = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = read(buffer, out var errno);
            if (count < 0)
            {
                switch (errno)
                {
                    case Eagain:
                        return null; // the end of the buffer
                    case Epipe:
                        stats.OverrunEvents++; // overwritten before we read them; the next read resumes at the oldest record
                        overrun = true;
                        continue;
                    case Eintr:
                        continue;
                    default:
                        return stats.BytesRead == 0 ? $"{path}: {Marshal.GetPInvokeErrorMessage(errno)}" : null;
                }
            }

            if (count == 0)
            {
                return null;
            }

            stats.BytesRead += count;
            // Decoded into one buffer: a record the sink does not keep (older than the window or the signal loop's
            // watermark — nearly all of them on every pass of the loop) allocates nothing.
            ReadOnlySpan<char> line = chars.AsSpan(0, Encoding.UTF8.GetChars(buffer[..count], chars));
            var newline = line.IndexOf('\n');
            if (newline >= 0)
            {
                line = line[..newline]; // the record's dictionary (" KEY=value" lines) follows
            }

            if (KmsgRecordParser.TryParseHeader(line, out _, out var sequence, out _, out _))
            {
                if (overrun && lastSequence is { } previous && sequence > previous + 1)
                {
                    stats.RecordsLost += sequence - previous - 1;
                }

                overrun = false;
                lastSequence = sequence;
                sink.AcceptKmsgLine(line, bootTime, decodeEscapes: true);
            }
            else
            {
                sink.Unparsed++;
            }

            if (stats.BytesRead >= maxBytes)
            {
                stats.Truncated = true;
                return null;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadFd(int fd, byte* buffer, nint count);

}

/// <summary>Counters of one read of the kernel log.</summary>
internal sealed class KmsgReadStats
{
    public long BytesRead { get; set; }
    public long OverrunEvents { get; set; }
    public long RecordsLost { get; set; }
    public bool Truncated { get; set; }
}
