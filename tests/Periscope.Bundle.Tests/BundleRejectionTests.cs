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
            await writer.WriteAsync(text.Replace("\"schemaVersion\": \"1.0\"", "\"schemaVersion\": \"2.0\"", StringComparison.Ordinal));
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
