using System.Text;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Kernel;

public sealed class KmsgReaderTests
{
    private static readonly DateTimeOffset Boot = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TryParse_Record_SplitsPriorityIntoFacilityAndLevel()
    {
        Assert.True(KmsgRecordParser.TryParse("30,1234,5000000,-;systemd[1]: Started foo", Boot, out var record));

        Assert.Equal(3, record.Facility); // daemon
        Assert.Equal(6, record.Level);    // info
        Assert.Equal(1234, record.Sequence);
        Assert.Equal(Boot.AddSeconds(5), record.Time);
        Assert.False(record.IsKernel);
    }

    [Fact]
    public void TryParse_EscapedBytes_AreDecoded()
    {
        Assert.True(KmsgRecordParser.TryParse(@"4,1,1,-;line one\x0aline two \x5cpath", Boot, out var record));

        Assert.Equal("line one\nline two \\path", record.Text);
        Assert.Equal(@"line one\x0aline two \path", KmsgRecordParser.Escape(record.Text)); // one record, one evidence line
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage without header")]
    [InlineData("6,abc,1,-;text")]
    [InlineData("6,1;text")]
    [InlineData("99999,1,1,-;text")]
    [InlineData("\u0000\u0001\u0002binary")]
    public void TryParse_Garbage_IsRefused(string line)
        => Assert.False(KmsgRecordParser.TryParse(line, Boot, out _));

    [Fact]
    public async Task ReadCapturedKmsg_ContinuationsAndGarbage_KeepsRecordsAndCountsUnparsed()
    {
        var text = """
            6,1,1000000,-;first record
             SUBSYSTEM=net
             DEVICE=n2
            this line is garbage
            3,2,2000000,c;second record
            4,3,3000000,-;third
            """;
        var (sink, evidence, _) = NewSink();
        var stats = new KmsgReadStats();

        await KernelTextReaders.ReadCapturedKmsgAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), Boot, sink, 1 << 20, stats, CancellationToken.None);

        Assert.Equal(3, sink.Records);
        Assert.Equal(1, sink.Unparsed);
        Assert.Equal(3, evidence.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task ReadCapturedKmsg_TruncatedLastRecord_IsKeptOrCountedNotFatal()
    {
        var (sink, _, _) = NewSink();

        await KernelTextReaders.ReadCapturedKmsgAsync(new MemoryStream("6,1,1,-;ok\n6,2,"u8.ToArray()), Boot, sink, 1 << 20, new KmsgReadStats(), CancellationToken.None);

        Assert.Equal(1, sink.Records);
        Assert.Equal(1, sink.Unparsed);
    }

    [Fact]
    public void ReadRecords_Epipe_CountsLostRecordsAndGoesOn()
    {
        var script = new Queue<(string? Record, int Errno)>(
        [
            ("6,10,1000,-;a\n", 0),
            ("6,11,2000,-;b\n", 0),
            (null, KmsgDeviceReader.Epipe),
            ("6,20,9000,-;c\n", 0),
            (null, KmsgDeviceReader.Eagain),
        ]);
        var (sink, _, _) = NewSink();
        var stats = new KmsgReadStats();

        var error = KmsgDeviceReader.ReadRecords(
            (Span<byte> buffer, out int errno) =>
            {
                var (record, e) = script.Dequeue();
                errno = e;
                if (record is null)
                {
                    return -1;
                }

                return Encoding.UTF8.GetBytes(record, buffer);
            },
            "/dev/kmsg", Boot, sink, 1 << 20, stats, CancellationToken.None);

        Assert.Null(error);
        Assert.Equal(3, sink.Records);
        Assert.Equal(1, stats.OverrunEvents);
        Assert.Equal(8, stats.RecordsLost); // 12..19 were overwritten
    }

    [Fact]
    public async Task ReadKernLog_TwoGibFile_ReadsOnlyTheNewestBoundAndFindsTheEvent()
    {
        using var directory = new TempDirectory();
        var path = directory.Combine("kern.log");
        await using (var file = new FileStream(path, FileMode.CreateNew))
        {
            file.SetLength(2L * 1024 * 1024 * 1024); // sparse: 2 GiB of NUL bytes, nothing committed or written
            file.Seek(0, SeekOrigin.End);
            await file.WriteAsync(Encoding.UTF8.GetBytes("\n2026-11-20T10:00:00.000000+00:00 node-1 kernel: [ 12.5] EXT4-fs error (device sda1): ext4_lookup: deleted inode\n"));
        }

        var (sink, _, analyzer) = NewSink();
        var stats = new KmsgReadStats();
        await using (var stream = File.OpenRead(path))
        {
            await KernelTextReaders.ReadKernLogAsync(stream, Boot.AddDays(1), sink, 4 * 1024 * 1024, stats, CancellationToken.None);
        }

        Assert.True(stats.Truncated);
        Assert.True(stats.BytesRead <= 4 * 1024 * 1024 + 4096);
        Assert.Equal("FS_EXT4_ERROR", Assert.Single(analyzer.Finish()).Code);
    }

    [Fact]
    public void TryParseSyslog_TraditionalAndRfc3339_AreKernelOnlyWhenTagged()
    {
        var now = new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);

        Assert.True(KernelTextReaders.TryParseSyslog("Dec 31 23:59:01 node-1 kernel: [ 100.000001] Oops: 0000 [#1] SMP", now, out var old));
        Assert.True(old.IsKernel);
        Assert.Equal("Oops: 0000 [#1] SMP", old.Text);
        Assert.Equal(2025, old.Time!.Value.Year);

        Assert.True(KernelTextReaders.TryParseSyslog("2026-01-04T10:00:00.123456+00:00 node-1 myapp[12]: Oops: pretend", now, out var user));
        Assert.False(user.IsKernel);
    }

    [Fact]
    public void TryParseJournalEntry_KernelTransportAndByteArrayMessage_AreRead()
    {
        Assert.True(HostJournal.TryParse(
            """{"__REALTIME_TIMESTAMP":"1763632800000000","PRIORITY":"3","_TRANSPORT":"kernel","MESSAGE":[69,88,84,52]}""", out var entry));
        var record = KernelTextReaders.ToRecord(entry);

        Assert.True(record.IsKernel);
        Assert.Equal("EXT4", record.Text);
        Assert.Equal(3, record.Level);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1763632800), record.Time);
        Assert.False(HostJournal.TryParse("{not json", out _));
    }

    private static (KernelRecordSink Sink, StringWriter Evidence, KernelEventAnalyzer Analyzer) NewSink()
    {
        using var root = new NodeRoot();
        var analyzer = new KernelEventAnalyzer(KernelRules.Default, ContainerDirectory.Load(new Periscope.Agent.Collection.HostRoot(root.Path)), "n", "kernel/kmsg.log");
        var evidence = new StringWriter();
        return (new KernelRecordSink(evidence, analyzer, DateTimeOffset.MinValue, DateTimeOffset.MaxValue), evidence, analyzer);
    }
}

/// <summary>Tests on the real /dev/kmsg of this machine: global, so serial.</summary>
[Collection(SerialHostTests.Name)]
public sealed class RealKmsgDeviceTests
{
    [Fact]
    public async Task Read_RealDevice_ReturnsAMarkerWrittenAsUserFacilityAndNeverClassifiesIt()
    {
        Requires.Root();
        Requires.That(File.Exists("/dev/kmsg"), "/dev/kmsg is not present on this machine");
        var marker = $"periscope-test-marker-{Guid.NewGuid():N} Out of memory: Killed process 1 (init)";
        await File.AppendAllTextAsync("/dev/kmsg", marker + "\n");

        var analyzer = new KernelEventAnalyzer(KernelRules.Default, ContainerDirectory.Load(new Periscope.Agent.Collection.HostRoot("/nonexistent-root")), "n", "kernel/kmsg.log");
        var evidence = new StringWriter();
        var sink = new KernelRecordSink(evidence, analyzer, DateTimeOffset.MinValue, DateTimeOffset.MaxValue);
        var stats = new KmsgReadStats();
        using var device = new Periscope.Agent.Collection.HostRoot("/").OpenCharacterDevice("/dev/kmsg");
        var error = KmsgDeviceReader.Read(device, "/dev/kmsg", DateTimeOffset.UnixEpoch, sink, 64L * 1024 * 1024, stats, CancellationToken.None);

        Assert.Null(error);
        var line = Assert.Single(evidence.ToString().Split('\n'), l => l.Contains(marker, StringComparison.Ordinal));
        Assert.Contains(" user.", line, StringComparison.Ordinal);
        Assert.DoesNotContain(analyzer.Finish(), o => o.Detail?.Contains(marker, StringComparison.Ordinal) == true);
    }
}
