using Periscope.Agent.Collection.Node;
namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Where every source delivers its records: drops those outside the window, writes each kept record as one line of
/// the evidence file and hands it to the analyzer with that line number. Text lines in kmsg format take an
/// allocation-free path: only a line that holds a rule keyword becomes a record object. Without an evidence writer
/// the sink only classifies (the benchmark of classification uses that).
/// </summary>
internal sealed class KernelRecordSink(TextWriter? evidence, KernelEventAnalyzer analyzer, DateTimeOffset since, DateTimeOffset until)
{
    public long Records { get; private set; }
    public long KernelRecords { get; private set; }
    public long Unparsed { get; set; }
    public DateTimeOffset? First { get; private set; }
    public DateTimeOffset? Last { get; private set; }

    /// <summary>With the signal loop: only records new since its last pass are counted and classified.</summary>
    public KernelWatermark? Watermark { get; init; }

    /// <summary>True once a record newer than the window was seen (sources are in time order and may stop).</summary>
    public bool PastWindow { get; private set; }

    public void Accept(KmsgRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!InWindow(record.Time) || (Watermark is not null && !Watermark.Admit(record.Time, record.Text)))
        {
            return;
        }

        Count(record.IsKernel);
        if (evidence is not null)
        {
            KmsgRecordParser.WriteEvidenceLine(evidence, record.Time, record.MonotonicMicroseconds, record.Facility, record.Level, KmsgRecordParser.Escape(record.Text));
            evidence.Write('\n');
        }

        analyzer.Process(record, Records);
    }

    /// <summary>Offset of the first rule keyword in <paramref name="text"/>, or -1.</summary>
    public int FindKeyword(ReadOnlySpan<char> text) => analyzer.FindKeyword(text);

    /// <summary>Accepts one line in kmsg format (<c>prio,seq,usec,flags;text</c>); false when it is not a record.</summary>
    /// <param name="line">The line.</param>
    /// <param name="bootTime">Boot time, to place the record in wall-clock time.</param>
    /// <param name="mayMatch">False when the caller already knows the line holds no rule keyword.</param>
    /// <param name="decodeEscapes">
    /// The evidence line shows the text with the kernel's <c>\xNN</c> escapes decoded (then only control characters
    /// escaped, as for a record object): what /dev/kmsg records have always shown; a captured file's lines are kept as
    /// written.
    /// </param>
    public bool AcceptKmsgLine(ReadOnlySpan<char> line, DateTimeOffset? bootTime, bool mayMatch = true, bool decodeEscapes = false)
    {
        if (!KmsgRecordParser.TryParseHeader(line, out var priority, out var sequence, out var microseconds, out var text))
        {
            return false;
        }

        var time = bootTime?.AddTicks(microseconds * 10);
        if (!InWindow(time) || (Watermark is not null && !Watermark.Admit(time, text)))
        {
            return true;
        }

        var facility = priority >> 3;
        var level = priority & 7;
        Count(facility == 0);

        if (evidence is not null)
        {
            // kmsg escapes non-printable bytes itself; a capture may still hold raw control characters.
            var escaped = decodeEscapes && text.Contains("\\x", StringComparison.Ordinal)
                ? KmsgRecordParser.Escape(KmsgRecordParser.Unescape(text))
                : text.ContainsAnyInRange('\0', '\x1f') ? KmsgRecordParser.Escape(text.ToString()) : text;
            KmsgRecordParser.WriteEvidenceLine(evidence, time, microseconds, facility, level, escaped);
            evidence.Write('\n');
        }

        if (mayMatch && facility == 0 && analyzer.MayMatch(text))
        {
            analyzer.Process(new KmsgRecord
            {
                Facility = facility,
                Level = level,
                Sequence = sequence,
                MonotonicMicroseconds = microseconds,
                Time = time,
                Text = KmsgRecordParser.Unescape(text),
            }, Records);
        }

        return true;
    }

    private bool InWindow(DateTimeOffset? time)
    {
        if (time is not { } t)
        {
            return true;
        }

        if (t < since)
        {
            return false;
        }

        if (t > until)
        {
            PastWindow = true;
            return false;
        }

        First ??= t;
        Last = t;
        return true;
    }

    private void Count(bool isKernel)
    {
        Records++;
        if (isKernel)
        {
            KernelRecords++;
        }
    }
}
