using System.Text;
using Periscope.Agent.Collection;
using Xunit;

namespace Periscope.Agent.Tests.Collection;

public sealed class JournalStreamTests
{
    [Fact]
    public void Write_LinesSplitAcrossWrites_AreEachParsedOnce()
    {
        var lines = new List<string>();
        using var stream = new LineSplitStream(line => lines.Add(Encoding.UTF8.GetString(line)));
        var bytes = Encoding.UTF8.GetBytes(
            "{\"MESSAGE\":\"one\",\"__REALTIME_TIMESTAMP\":\"1763632800000000\"}\n{\"MESSAGE\":\"tw\u00f6\"}\nnot json\n{\"MESSAGE\":\"last\"}");

        foreach (var chunk in bytes.Chunk(7))
        {
            stream.Write(chunk);
        }

        stream.Flush();

        Assert.Equal(4, lines.Count);
        Assert.Equal("not json", lines[2]);
        var entries = lines.Select(l => HostJournal.TryParse(l, out var e) ? e : null).OfType<JournalEntry>().ToList();
        Assert.Equal(["one", "twö", "last"], entries.Select(e => e.Message));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_763_632_800), entries[0].Time);
    }

    [Fact]
    public void Write_LineLongerThanTheLimit_IsDroppedAndTheNextLineStillRead()
    {
        var lines = new List<string>();
        using var stream = new LineSplitStream(line => lines.Add(Encoding.UTF8.GetString(line)));
        var huge = "{\"MESSAGE\":\"" + new string('x', LineSplitStream.MaxLineBytes) + "\"}\n";

        foreach (var chunk in Encoding.UTF8.GetBytes(huge + "{\"MESSAGE\":\"after\"}\n").Chunk(64 * 1024))
        {
            stream.Write(chunk);
        }

        stream.Flush();

        Assert.Equal("{\"MESSAGE\":\"after\"}", Assert.Single(lines));
        Assert.Equal(1, stream.Dropped);
    }
}

public sealed class KlogLineTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Parse_KlogHeader_TakesLevelTimeAndMessage()
    {
        var entry = KlogLine.Parse("E0101 23:59:58.123456    4321 kubelet.go:10] \"boom\" err=\"x\"", Now)!;

        Assert.Equal(new DateTimeOffset(2026, 1, 1, 23, 59, 58, 123, 456, TimeSpan.Zero), entry.Time);
        Assert.Equal(3, entry.Priority);
        Assert.Equal("\"boom\" err=\"x\"", entry.Message);
    }

    [Fact]
    public void Parse_DecemberLineReadInJanuary_IsLastYear()
    {
        Assert.Equal(2025, KlogLine.Parse("I1231 10:00:00.000000 1 a.go:1] m", Now)!.Time!.Value.Year);
    }

    [Fact]
    public void Parse_Rfc3339Prefix_WinsOverTheYearlessHeader()
    {
        var entry = KlogLine.Parse("2024-06-01T12:00:00+02:00 host kubelet[1]: W0601 12:00:00.000000 1 a.go:1] m", Now)!;

        Assert.Equal(new DateTimeOffset(2024, 6, 1, 10, 0, 0, TimeSpan.Zero), entry.Time);
        Assert.Equal(("m", 4), (entry.Message, entry.Priority));
    }

    [Fact]
    public void Parse_OtherText_IsKeptWithoutATime()
    {
        var entry = KlogLine.Parse("Flag --foo has been deprecated", Now)!;

        Assert.Null(entry.Time);
        Assert.Equal("Flag --foo has been deprecated", entry.Message);
        Assert.Null(KlogLine.Parse("   ", Now));
    }
}

public sealed class ReverseLinesTests
{
    [Theory]
    [InlineData(10, 5)]
    [InlineData(5000, 100)]
    [InlineData(30_000, 7)]
    public async Task Read_LinesAcrossBlocks_ComeOutLastFirst(int count, int width)
    {
        var lines = Enumerable.Range(0, count).Select(i => $"{i}:" + new string((char)('a' + (i % 26)), width)).ToList();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));
        var read = new List<string>();

        await ReverseLines.ReadAsync(stream, line => read.Add(Encoding.UTF8.GetString(line)), 1024 * 1024, CancellationToken.None);

        lines.Reverse();
        Assert.Equal(lines, read);
    }

    [Fact]
    public async Task Read_LineOverTheLimit_IsSkippedWhole()
    {
        var text = "first\n" + new string('x', 200_000) + "\nlast\r\n";
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        var read = new List<string>();

        await ReverseLines.ReadAsync(stream, line => read.Add(Encoding.UTF8.GetString(line)), 100_000, CancellationToken.None);

        Assert.Equal(["last", "first"], read);
    }
}
