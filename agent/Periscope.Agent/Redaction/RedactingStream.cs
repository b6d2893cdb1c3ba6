using System.Text;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Redaction;

/// <summary>
/// A write-only stream that redacts UTF-8 text line by line on its way to <paramref name="inner"/>. Line breaks are
/// kept, so a file has as many lines after redaction as before. Lines are taken in blocks: a block of ASCII text is
/// searched for the rules' triggers all at once and copied through untouched up to the first line holding one; only
/// such lines (and lines inside an open PEM block) are decoded and redacted. A line that is redacted is re-encoded;
/// any other line is written back byte for byte, even when it is not valid UTF-8. A line longer than
/// <see cref="MaxLineBytes"/> is redacted in pieces cut at a delimiter (space, quote, comma, ampersand, semicolon)
/// and never inside a UTF-8 sequence, so memory stays bounded whatever the input.
/// </summary>
internal sealed class RedactingStream(Stream inner, LineRedactor redactor, bool leaveOpen = false) : WriteOnlyStream
{
    public const int MaxLineBytes = 1024 * 1024;
    private const int BlockBytes = 256 * 1024;
    private static readonly UTF8Encoding Strict = new(false, true);
    private static readonly System.Buffers.SearchValues<byte> Delimiters = System.Buffers.SearchValues.Create(" \t\",;&'"u8);
    private byte[] _pending = new byte[BlockBytes];
    private int _length;
    private char[] _chars = new char[BlockBytes];

    public LineRedactor Redactor => redactor;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var room = _pending.Length - _length;
            if (room == 0)
            {
                Drain(final: false);
                room = _pending.Length - _length;
                if (room == 0)
                {
                    Array.Resize(ref _pending, Math.Min(_pending.Length * 2, MaxLineBytes + BlockBytes));
                    room = _pending.Length - _length;
                }
            }

            var take = Math.Min(room, buffer.Length);
            buffer[..take].CopyTo(_pending.AsSpan(_length));
            _length += take;
            buffer = buffer[take..];
        }
    }

    /// <summary>Passes on whole lines; a last line without its newline waits for more, or for <see cref="Dispose(bool)"/>.</summary>
    public override void Flush()
    {
        Drain(final: false);
        inner.Flush();
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        Drain(final: false);
        await inner.FlushAsync(cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Drain(final: true);
            if (!leaveOpen)
            {
                inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        Drain(final: true);
        if (!leaveOpen)
        {
            await inner.DisposeAsync();
        }

        GC.SuppressFinalize(this);
        await base.DisposeAsync();
    }

    /// <summary>Redacts and writes the whole lines in the buffer (everything when <paramref name="final"/>).</summary>
    private void Drain(bool final)
    {
        var data = _pending.AsSpan(0, _length);
        var lastNewline = data.LastIndexOf((byte)'\n');
        int end;
        if (final)
        {
            end = _length;
        }
        else if (lastNewline >= 0)
        {
            end = lastNewline + 1;
        }
        else if (_length >= MaxLineBytes)
        {
            end = CutPoint(data[..MaxLineBytes]); // an over-long line: a piece of it, ended at a delimiter
        }
        else
        {
            return;
        }

        Process(_pending.AsSpan(0, end));
        _pending.AsSpan(end, _length - end).CopyTo(_pending);
        _length -= end;
    }

    private void Process(ReadOnlySpan<byte> block)
    {
        var position = 0;
        if (System.Text.Ascii.IsValid(block))
        {
            // Fast path: ASCII chars are bytes, so one decode serves the whole block and char offsets are byte offsets.
            if (_chars.Length < block.Length)
            {
                _chars = new char[Math.Max(block.Length, _chars.Length * 2)];
            }

            var chars = _chars.AsSpan(0, block.Length);
            System.Text.Ascii.ToUtf16(block, chars, out _);
            while (position < block.Length)
            {
                if (!redactor.NeedsNextLine)
                {
                    var hit = redactor.Redactor.MayHoldSecretAt(chars[position..]);
                    if (hit < 0)
                    {
                        inner.Write(block[position..]);
                        return;
                    }

                    var lineStart = position + chars.Slice(position, hit).LastIndexOf('\n') + 1;
                    inner.Write(block[position..lineStart]);
                    position = lineStart;
                }

                position = WriteLineAt(block, position);
            }

            return;
        }

        while (position < block.Length)
        {
            position = WriteLineAt(block, position);
        }
    }

    /// <summary>Redacts and writes the line starting at <paramref name="position"/>, with its newline.</summary>
    /// <returns>Where the next line starts.</returns>
    private int WriteLineAt(ReadOnlySpan<byte> block, int position)
    {
        var rest = block[position..];
        var newline = rest.IndexOf((byte)'\n');
        WriteLine(newline < 0 ? rest : rest[..newline]);
        if (newline < 0)
        {
            return block.Length;
        }

        inner.WriteByte((byte)'\n');
        return position + newline + 1;
    }

    private void WriteLine(ReadOnlySpan<byte> line)
    {
        var hasCr = !line.IsEmpty && line[^1] == '\r';
        var body = hasCr ? line[..^1] : line;
        string text;
        try
        {
            text = Strict.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            text = Encoding.UTF8.GetString(body); // judged with U+FFFD in place of the bad bytes; written back as is unless redacted
        }

        var redacted = redactor.Redact(text);
        if (ReferenceEquals(redacted, text))
        {
            inner.Write(line);
            return;
        }

        inner.Write(Encoding.UTF8.GetBytes(redacted));
        if (hasCr)
        {
            inner.WriteByte((byte)'\r');
        }
    }

    /// <summary>Where to cut an over-long line: after the last delimiter in its final 4 KiB, never inside a UTF-8 sequence.</summary>
    private static int CutPoint(ReadOnlySpan<byte> data)
    {
        var window = data[Math.Max(0, data.Length - 4096)..];
        var delimiter = window.LastIndexOfAny(Delimiters);
        var cut = delimiter >= 0 ? data.Length - window.Length + delimiter + 1 : data.Length;
        while (cut > 0 && cut < data.Length && (data[cut] & 0xC0) == 0x80)
        {
            cut--; // a continuation byte: step back to the start of its sequence
        }

        return cut == 0 ? data.Length : cut;
    }
}
