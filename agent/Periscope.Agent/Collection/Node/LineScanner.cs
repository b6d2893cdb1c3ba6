using System.Text;

namespace Periscope.Agent.Collection.Node;

/// <summary>Receives one line (without its newline); returns false to stop scanning.</summary>
internal delegate bool LineHandler(ReadOnlySpan<char> line);

/// <summary>Receives a block of whole lines, each ended by '\n' (the last may lack it at the end of input); returns false to stop.</summary>
internal delegate bool BlockHandler(ReadOnlySpan<char> block);

/// <summary>
/// Splits a UTF-8 stream into lines without allocating a string per line: large blocks are decoded into one char
/// buffer and handed out as spans. Invalid UTF-8 becomes U+FFFD. A line longer than the buffer (binary garbage
/// without newlines) is handed out cut at the buffer size, and the rest of it is skipped, so memory stays bounded
/// whatever the input.
/// </summary>
internal static class LineScanner
{
    public const int DefaultBufferChars = 1024 * 1024;
    private const int Slack = 16; // characters a decoder may release from a sequence split across blocks

    /// <summary>Hands out lines one by one.</summary>
    /// <returns>Bytes read.</returns>
    public static Task<long> ScanAsync(Stream stream, LineHandler onLine, CancellationToken cancellationToken, int bufferChars = DefaultBufferChars)
    {
        ArgumentNullException.ThrowIfNull(onLine);
        return ScanBlocksAsync(stream, block =>
        {
            while (!block.IsEmpty)
            {
                var newline = block.IndexOf('\n');
                var line = newline < 0 ? block : block[..newline];
                if (!onLine(line.TrimEnd('\r')))
                {
                    return false;
                }

                block = newline < 0 ? default : block[(newline + 1)..];
            }

            return true;
        }, cancellationToken, bufferChars);
    }

    /// <summary>Hands out blocks of whole lines, for callers that search many lines at once.</summary>
    /// <returns>Bytes read.</returns>
    public static async Task<long> ScanBlocksAsync(Stream stream, BlockHandler onBlock, CancellationToken cancellationToken, int bufferChars = DefaultBufferChars)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(onBlock);
        var decoder = new UTF8Encoding(false, false).GetDecoder();
        var bytes = new byte[bufferChars];
        var chars = new char[bufferChars + Slack];
        var filled = 0;
        var skipping = false; // inside an over-long line whose head was already handed out
        long bytesRead = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var read = await stream.ReadAsync(bytes.AsMemory(0, bufferChars - filled), cancellationToken);
            bytesRead += read;
            var end = read == 0;
            filled += decoder.GetChars(bytes, 0, read, chars, filled, end);

            var start = 0;
            if (skipping)
            {
                var newline = chars.AsSpan(0, filled).IndexOf('\n');
                if (newline < 0 && !end)
                {
                    filled = 0;
                    continue;
                }

                skipping = false;
                start = newline < 0 ? filled : newline + 1;
            }

            var last = chars.AsSpan(start, filled - start).LastIndexOf('\n');
            if (last >= 0)
            {
                if (!onBlock(chars.AsSpan(start, last + 1)))
                {
                    return bytesRead;
                }

                start += last + 1;
            }

            var rest = filled - start;
            if (end)
            {
                if (rest > 0)
                {
                    onBlock(chars.AsSpan(start, rest));
                }

                return bytesRead;
            }

            if (rest >= bufferChars - Slack)
            {
                // One line fills the whole buffer: hand out its head and skip to its end.
                if (!onBlock(chars.AsSpan(start, rest)))
                {
                    return bytesRead;
                }

                skipping = true;
                filled = 0;
                continue;
            }

            chars.AsSpan(start, rest).CopyTo(chars);
            filled = rest;
        }
    }

    /// <summary>
    /// Moves <paramref name="stream"/> to its newest <paramref name="maxBytes"/> when it holds more and can seek.
    /// </summary>
    /// <returns>True when it did: the first line read is then partial and is to be skipped.</returns>
    public static bool SeekToTail(Stream stream, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek && stream.Length > maxBytes)
        {
            stream.Seek(-maxBytes, SeekOrigin.End);
            return true;
        }

        return false;
    }
}
