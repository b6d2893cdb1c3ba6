namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Where every source delivers its records: drops those outside the window, writes each kept record as one line of
/// the evidence file and hands it to the analyzer with that line number.
/// </summary>
internal sealed class KernelRecordSink(TextWriter evidence, KernelEventAnalyzer analyzer, DateTimeOffset since, DateTimeOffset until)
{
    public long Records { get; private set; }
    public long KernelRecords { get; private set; }
    public long Unparsed { get; set; }
    public DateTimeOffset? First { get; private set; }
    public DateTimeOffset? Last { get; private set; }

    /// <summary>True once a record newer than the window was seen (sources are in time order and may stop).</summary>
    public bool PastWindow { get; private set; }

    public void Accept(KmsgRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Time is { } time)
        {
            if (time < since)
            {
                return;
            }

            if (time > until)
            {
                PastWindow = true;
                return;
            }

            First ??= time;
            Last = time;
        }

        Records++;
        if (record.IsKernel)
        {
            KernelRecords++;
        }

        evidence.Write(KmsgRecordParser.EvidenceLine(record));
        evidence.Write('\n');
        analyzer.Process(record, Records);
    }
}
