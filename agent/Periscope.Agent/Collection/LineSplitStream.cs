namespace Periscope.Agent.Collection;

/// <summary>Receives one line of bytes, without its newline.</summary>
internal delegate void ByteLineHandler(ReadOnlySpan<byte> line);

/// <summary>
/// A write-only stream that takes a command's output as it arrives (journalctl, iptables-save) and hands it on line by
/// line. Only a partial last line is buffered; a line longer than <see cref="MaxLineBytes"/> is dropped whole, so
/// memory stays bounded whatever the command writes.
/// </summary>
internal sealed class LineSplitStream(ByteLineHandler onLine) : WriteOnlyStream
{
    public const int MaxLineBytes = 1024 * 1024;
    private byte[] _pending = new byte[16 * 1024];
    private int _pendingLength;
    private bool _overlong;

    /// <summary>Lines dropped for being too long.</summary>
    public long Dropped { get; private set; }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var newline = buffer.IndexOf((byte)'\n');
            if (newline < 0)
            {
                Append(buffer);
                return;
            }

            if (_pendingLength == 0 && !_overlong)
            {
                Handle(buffer[..newline]); // the common case: a whole line inside one block, no copy
            }
            else
            {
                Append(buffer[..newline]);
                if (!_overlong)
                {
                    Handle(_pending.AsSpan(0, _pendingLength));
                }
                else
                {
                    Dropped++;
                }

                _pendingLength = 0;
                _overlong = false;
            }

            buffer = buffer[(newline + 1)..];
        }
    }

    /// <summary>Hands on a last line that had no newline.</summary>
    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        Flush();
        return Task.CompletedTask;
    }

    /// <summary>Hands on a last line that had no newline (call once the writer is done).</summary>
    public override void Flush()
    {
        if (_pendingLength > 0 && !_overlong)
        {
            Handle(_pending.AsSpan(0, _pendingLength));
        }

        _pendingLength = 0;
        _overlong = false;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_overlong)
        {
            return;
        }

        if (_pendingLength + bytes.Length > MaxLineBytes)
        {
            _overlong = true;
            _pendingLength = 0;
            return;
        }

        if (_pendingLength + bytes.Length > _pending.Length)
        {
            Array.Resize(ref _pending, Math.Min(MaxLineBytes, Math.Max(_pending.Length * 2, _pendingLength + bytes.Length)));
        }

        bytes.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += bytes.Length;
    }

    private void Handle(ReadOnlySpan<byte> line)
    {
        if (!line.IsEmpty)
        {
            onLine(line);
        }
    }
}
