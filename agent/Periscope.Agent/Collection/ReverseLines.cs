namespace Periscope.Agent.Collection;

/// <summary>
/// Reads a seekable stream's lines from its end to its start, in blocks, without holding the file: what a newest-first
/// spool needs to be handed out oldest first. A line longer than the limit is skipped whole.
/// </summary>
internal static class ReverseLines
{
    private const int BlockSize = 64 * 1024;

    /// <summary>Hands out the lines (without newlines) of <paramref name="stream"/>, last first.</summary>
    public static async Task ReadAsync(Stream stream, ByteLineHandler onLine, int maxLineBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(onLine);
        var position = stream.Length;
        var buffer = new byte[BlockSize + maxLineBytes];
        var carry = 0; // bytes of a line that started in an earlier block, kept at the end of the buffer
        var overlong = false;
        while (position > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var size = (int)Math.Min(BlockSize, position);
            position -= size;
            var start = buffer.Length - carry - size;
            stream.Seek(position, SeekOrigin.Begin);
            await stream.ReadExactlyAsync(buffer.AsMemory(start, size), cancellationToken);
            var end = buffer.Length;
            var window = buffer.AsSpan(start, end - start);
            var last = window.Length;
            int newline;
            while ((newline = window[..last].LastIndexOf((byte)'\n')) >= 0)
            {
                if (!overlong)
                {
                    Emit(window[(newline + 1)..last], onLine);
                }

                overlong = false;
                last = newline;
            }

            // window[..last] is the head of a line that began in an earlier block: keep it at the buffer's end
            if (last > maxLineBytes || overlong)
            {
                overlong = true;
                carry = 0;
            }
            else
            {
                window[..last].CopyTo(buffer.AsSpan(buffer.Length - last));
                carry = last;
            }
        }

        if (!overlong && carry > 0)
        {
            Emit(buffer.AsSpan(buffer.Length - carry), onLine);
        }
    }

    private static void Emit(ReadOnlySpan<byte> line, ByteLineHandler onLine)
    {
        if (!line.IsEmpty && line[^1] == '\r')
        {
            line = line[..^1];
        }

        if (!line.IsEmpty)
        {
            onLine(line);
        }
    }
}
