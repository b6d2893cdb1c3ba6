using System.IO.Compression;
using System.Text;
using Periscope.Testing;
using Xunit;

namespace Periscope.Bundle.Tests;

public sealed class BundleRoundTripTests
{
    [Fact]
    public async Task ReadBack_WrittenBundle_ReturnsSameDocumentsAndVerifies()
    {
        using var store = new TempDirectory();
        var findings = new[] { TestBundles.Finding("DISK_IO_ERROR", Severity.Critical, "sdb", count: 4) };
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a", findings, pool: "system");

        using var reader = BundleReader.Open(File.OpenRead(zip), "node-a");

        Assert.Equal("run1", reader.Manifest.RunId);
        Assert.Equal("system", reader.Manifest.Node.Pool);
        var finding = Assert.Single(reader.ReadFindings().Findings);
        Assert.Equal("DISK_IO_ERROR", finding.Code);
        Assert.Equal(4, finding.Count);
        Assert.Equal(SubjectKind.Device, finding.Subject.Kind);
        Assert.Equal("kmsg-file", reader.ReadFacts().Kernel!.Source);
        Assert.Empty(reader.VerifyAll());
        using var evidence = new StreamReader(reader.OpenEntry("kernel/kmsg.log"));
        Assert.Equal("line one", await evidence.ReadLineAsync());
    }

    [Fact]
    public async Task Write_Entries_AreOwnerOnlyAndManifestIsLast()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a");

        using var archive = ZipFile.OpenRead(zip);

        Assert.Equal(BundleSchema.ManifestEntry, archive.Entries[^1].FullName);
        Assert.All(archive.Entries, e => Assert.Equal(Convert.ToInt32("100600", 8), (int)((uint)e.ExternalAttributes >> 16)));
    }

    [Fact]
    public async Task Seal_ManifestMissingAnEntry_Throws()
    {
        await using var writer = new BundleWriter(new MemoryStream(), DateTimeOffset.UnixEpoch);
        await writer.AddEntryAsync("kernel/a.log", new MemoryStream([1, 2, 3]), CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => writer.SealAsync(
            new Facts.FactsDocument(), new FindingsDocument(),
            documents => new Manifest
            {
                RunId = "r", Node = new NodeIdentity { Name = "n" }, Agent = "t",
                StartedAt = DateTimeOffset.UnixEpoch, EndedAt = DateTimeOffset.UnixEpoch, Documents = documents,
            },
            CancellationToken.None));

        Assert.Contains("kernel/a.log", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../escape.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("kernel/../../x")]
    [InlineData("a\\b")]
    [InlineData("")]
    public async Task AddEntry_UnsafeName_IsRefused(string name)
    {
        await using var writer = new BundleWriter(new MemoryStream(), DateTimeOffset.UnixEpoch);

        await Assert.ThrowsAsync<ArgumentException>(() => writer.AddEntryAsync(name, new MemoryStream(), CancellationToken.None));
    }

    [Fact]
    public async Task Write_LargeEntry_IsStreamedNotBuffered()
    {
        // 64 MiB through a non-seekable sink: the writer must not hold the entry (or the zip) in memory.
        var sink = new CountingSink();
        var before = GC.GetAllocatedBytesForCurrentThread();
        await using (var writer = new BundleWriter(sink, DateTimeOffset.UnixEpoch))
        {
            await writer.AddEntryAsync("kernel/big.log", new PatternStream(64L * 1024 * 1024), CancellationToken.None);
            await writer.SealAsync(new Facts.FactsDocument(), new FindingsDocument(), documents => new Manifest
            {
                RunId = "r", Node = new NodeIdentity { Name = "n" }, Agent = "t",
                StartedAt = DateTimeOffset.UnixEpoch, EndedAt = DateTimeOffset.UnixEpoch,
                Collectors = [new CollectorRecord { Name = "kernel", Status = CollectorStatus.Ok, Files = [.. writer.Written.Where(w => w.Path == "kernel/big.log")] }],
                Documents = documents,
            }, CancellationToken.None);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(sink.Written > 0);
        Assert.True(allocated < 32L * 1024 * 1024, $"allocated {allocated} bytes writing a 64 MiB entry");
    }

    private sealed class CountingSink : Stream
    {
        public long Written { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Written += count;
    }

    private sealed class PatternStream(long length) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            for (var i = 0; i < n; i++)
            {
                buffer[offset + i] = (byte)('a' + ((_position + i) * 7919 % 26));
            }

            _position += n;
            return n;
        }
    }
}
