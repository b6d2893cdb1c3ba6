using System.IO.Compression;
using System.Text;
using Periscope.Testing;
using Xunit;

namespace Periscope.Bundle.Tests;

public sealed class BundleRejectionTests
{
    [Fact]
    public async Task Open_TruncatedZip_IsRejectedWithReason()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a");
        var bytes = await File.ReadAllBytesAsync(zip);
        await File.WriteAllBytesAsync(zip, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip)));

        Assert.Contains("not a readable zip", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadFindings_TamperedEntry_IsRejected()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a");
        TestBundles.ReplaceEntry(zip, BundleSchema.FindingsEntry, Encoding.UTF8.GetBytes("{\"schemaVersion\":\"1.0\",\"findings\":[]}   "));

        using var reader = BundleReader.Open(File.OpenRead(zip));
        var error = Assert.Throws<BundleRejectedException>(reader.ReadFindings);

        Assert.Contains("findings.json", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3_000_000L, 1_000L)]
    [InlineData(10L, 200_000_000L)]
    public async Task Open_EndRecordClaimsAHugeDirectory_IsRejectedBeforeLoadingIt(long entries, long directorySize)
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a");
        var bytes = await File.ReadAllBytesAsync(zip);
        var end = bytes.Length - 22; // no archive comment: the end record is the last 22 bytes
        Assert.Equal(0x06054b50u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(end)));
        // A Zip64 end record and locator claiming the huge directory, pointed at from the classic record's 0xFFFF marks.
        var zip64 = new byte[56 + 20];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(zip64, 0x06064b50);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(zip64.AsSpan(32), (ulong)entries);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(zip64.AsSpan(40), (ulong)directorySize);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(zip64.AsSpan(56), 0x07064b50);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(zip64.AsSpan(56 + 8), end);
        var classic = bytes[end..];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(classic.AsSpan(10), 0xFFFF);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(classic.AsSpan(12), 0xFFFFFFFF);
        await File.WriteAllBytesAsync(zip, [.. bytes[..end], .. zip64, .. classic]);

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip)));

        Assert.Contains("over the limit", error.Message, StringComparison.Ordinal);
        Assert.Contains(entries > 20_000 ? $"{entries} entries" : $"{directorySize} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadFindings_OverTheFindingsLimits_IsRejected()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a", [TestBundles.Finding("A"), TestBundles.Finding("B"), TestBundles.Finding("C")]);

        using var byCount = BundleReader.Open(File.OpenRead(zip), limits: new BundleLimits { MaxFindings = 2 });
        using var bySize = BundleReader.Open(File.OpenRead(zip), limits: new BundleLimits { MaxFindingsSize = 100 });

        Assert.Contains("3 findings, over the limit of 2", Assert.Throws<BundleRejectedException>(byCount.ReadFindings).Message, StringComparison.Ordinal);
        Assert.Contains("over the limit of 100", Assert.Throws<BundleRejectedException>(bySize.ReadFindings).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_ZipEntryThatIsASymbolicLink_IsRejected()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            // Unix mode in the high half of the external attributes: 0120777, a symbolic link.
            archive.GetEntry("kernel/kmsg.log")!.ExternalAttributes = unchecked((int)(0xA1FFu << 16));
        }

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip)));

        Assert.Contains("not a regular file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAll_TamperedEvidence_ReportsTheEntry()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a");
        TestBundles.ReplaceEntry(zip, "kernel/kmsg.log", Encoding.UTF8.GetBytes("line one\nline TWO\nline three\n"));

        using var reader = BundleReader.Open(File.OpenRead(zip));
        var problem = Assert.Single(reader.VerifyAll());

        Assert.Contains("kernel/kmsg.log", problem, StringComparison.Ordinal);
        Assert.Contains("sha256", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_NewerSchemaMajor_IsRefusedWithClearMessage()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            var entry = archive.GetEntry(BundleSchema.ManifestEntry)!;
            string text;
            using (var reader = new StreamReader(entry.Open()))
            {
                text = await reader.ReadToEndAsync();
            }

            entry.Delete();
            var replacement = archive.CreateEntry(BundleSchema.ManifestEntry);
            await using var writer = new StreamWriter(replacement.Open());
            await writer.WriteAsync(text.Replace($"\"schemaVersion\": \"{BundleSchema.Version}\"", "\"schemaVersion\": \"2.0\"", StringComparison.Ordinal));
        }

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip)));

        Assert.Contains("2.0", error.Message, StringComparison.Ordinal);
        Assert.Contains("upgrade", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_ManifestNamesAnotherNode_IsRejected()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a", manifestNode: "node-b");

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip), "node-a"));

        Assert.Contains("node-b", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_EntryNameWithParentSegment_IsRejected()
    {
        using var store = new TempDirectory();
        var zip = store.Combine("evil.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            using var stream = archive.CreateEntry("../../etc/cron.d/evil").Open();
            stream.Write("x"u8);
        }

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip)));

        Assert.Contains("unsafe", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ZipBomb_IsRejectedBeforeExpanding()
    {
        using var store = new TempDirectory();
        var zip = store.Combine("bomb.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            using var stream = archive.CreateEntry("kernel/zeros.log", CompressionLevel.SmallestSize).Open();
            var zeros = new byte[1024 * 1024];
            for (var i = 0; i < 64; i++)
            {
                stream.Write(zeros);
            }
        }

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip)));

        Assert.Contains("zip bomb", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_TooManyEntries_IsRejected()
    {
        using var store = new TempDirectory();
        var zip = store.Combine("many.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            for (var i = 0; i < 11; i++)
            {
                archive.CreateEntry($"kernel/{i}.log");
            }
        }

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip), limits: new BundleLimits { MaxEntries = 10 }));

        Assert.Contains("11 entries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_EntryNotInManifest_IsRejected()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run1", "node-a");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Update))
        {
            using var stream = archive.CreateEntry("kernel/smuggled.bin").Open();
            stream.Write("x"u8);
        }

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip)));

        Assert.Contains("kernel/smuggled.bin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_NoManifest_IsRejected()
    {
        using var store = new TempDirectory();
        var zip = store.Combine("empty.zip");
        using (ZipFile.Open(zip, ZipArchiveMode.Create))
        {
        }

        var error = Assert.Throws<BundleRejectedException>(() => BundleReader.Open(File.OpenRead(zip)));

        Assert.Contains("no manifest", error.Message, StringComparison.Ordinal);
    }
}
