using Periscope.Bundle;
using Periscope.Collector.Sources;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Sources;

public sealed class DirectoryBundleSourceTests
{
    [Fact]
    public async Task ListRuns_LatestIsNewestStartTimeNotNewestName()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "zzz-old", "n1", startedAt: TestBundles.Start);
        await TestBundles.WriteAsync(store.Path, "aaa-new", "n1", startedAt: TestBundles.Start.AddHours(1));
        Directory.CreateDirectory(store.Combine(".staging"));

        var runs = await new DirectoryBundleSource(store.Path).ListRunsAsync(CancellationToken.None);

        Assert.Equal(["aaa-new", "zzz-old"], runs.Select(r => r.RunId));
    }

    [Fact]
    public async Task ListRuns_Again_ReadsStatusRecordsOnlyWhenARunChanged()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "r1", "n1", startedAt: TestBundles.Start);
        var source = new DirectoryBundleSource(store.Path);
        var first = (await source.ListRunsAsync(CancellationToken.None)).Single();

        // The record's bytes change but not its count or write time: the listing does not read it again.
        var status = store.Combine("r1", "n1" + StoreLayout.StatusSuffix);
        var written = File.GetLastWriteTimeUtc(status);
        File.WriteAllText(status, "not a status record");
        File.SetLastWriteTimeUtc(status, written);
        var unchanged = (await source.ListRunsAsync(CancellationToken.None)).Single();
        await TestBundles.WriteAsync(store.Path, "r1", "n2", startedAt: TestBundles.Start.AddMinutes(1));
        var changed = (await source.ListRunsAsync(CancellationToken.None)).Single();

        Assert.Equal(TestBundles.Start, first.StartedAt);
        Assert.Equal(TestBundles.Start, unchanged.StartedAt);
        Assert.Equal((TestBundles.Start.AddMinutes(1), 2), (changed.StartedAt, changed.Sealed)); // read again
    }

    [Fact]
    public async Task ReadRun_Again_ReadsOnlyTheNewAndChangedBundles_InNodeOrder()
    {
        using var store = new TempDirectory();
        for (var i = 0; i < 12; i++)
        {
            await TestBundles.WriteAsync(store.Path, "r1", $"n{i:00}");
        }

        var source = new DirectoryBundleSource(store.Path, parallelReads: 4);
        var first = await source.ReadRunAsync("r1", CancellationToken.None);
        await TestBundles.WriteAsync(store.Path, "r1", "n12");
        await TestBundles.WriteAsync(store.Path, "r1", "n03", [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom")]);
        File.Delete(store.Combine("r1", "n07.zip"));
        File.Delete(store.Combine("r1", "n07" + StoreLayout.StatusSuffix));
        // A zip changed in place with its size and write time kept is still seen (its change time moved). The kernel
        // stamps change times from a coarse clock (a few milliseconds): the rewrite is repeated until the stamp moved,
        // so that the test checks the source, not the clock's granularity.
        var zip = store.Combine("r1", "n09.zip");
        var written = File.GetLastWriteTimeUtc(zip);
        var before = StoreFile.VersionOf(zip);
        var bytes = File.ReadAllBytes(zip);
        bytes[40] ^= 0xFF;
        for (var i = 0; i < 200 && StoreFile.VersionOf(zip) == before; i++)
        {
            Thread.Sleep(i == 0 ? 0 : 5);
            File.WriteAllBytes(zip, bytes);
            File.SetLastWriteTimeUtc(zip, written);
        }

        Assert.NotEqual(before, StoreFile.VersionOf(zip));
        var second = await source.ReadRunAsync("r1", CancellationToken.None);
        var readAfterChanges = source.BundlesRead;
        var third = await source.ReadRunAsync("r1", CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"n{i:00}"), first.Select(n => n.Node));
        Assert.Equal(12 + 3, readAfterChanges); // n12 new, n03 replaced, n09 changed in place; unchanged ones from the cache
        Assert.Equal([.. Enumerable.Range(0, 13).Where(i => i != 7).Select(i => $"n{i:00}")], second.Select(n => n.Node));
        Assert.Equal("KERNEL_OOM_KILL", Assert.Single(second.Single(n => n.Node == "n03").Findings!.Findings).Code);
        Assert.NotNull(second.Single(n => n.Node == "n09").Rejected);
        Assert.Equal(second.Select(n => n.Rejected), third.Select(n => n.Rejected));
        Assert.Equal(12 + 3, source.BundlesRead); // unchanged: nothing read again
        var fresh = await new DirectoryBundleSource(store.Path).ReadRunAsync("r1", CancellationToken.None);
        Assert.Equal(fresh.Select(n => (n.Node, n.Rejected, n.Findings?.Findings.Count)), second.Select(n => (n.Node, n.Rejected, n.Findings?.Findings.Count)));
    }

    [Fact]
    public async Task ReadRun_ZipWithoutStatusRecord_IsIncompleteNotRead()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "r1", "n1");
        await TestBundles.WriteAsync(store.Path, "r1", "n2", withStatus: false);

        var nodes = await new DirectoryBundleSource(store.Path).ReadRunAsync("r1", CancellationToken.None);

        Assert.True(nodes.Single(n => n.Node == "n1").IsUsable);
        var incomplete = nodes.Single(n => n.Node == "n2");
        Assert.True(incomplete.Incomplete);
        Assert.Null(incomplete.Manifest);
    }

    [Fact]
    public async Task ReadRun_TruncatedZip_IsRejectedAndTheRestStillRead()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "r1", "good", [TestBundles.Finding("KERNEL_OOPS", Severity.Critical)]);
        var bad = await TestBundles.WriteAsync(store.Path, "r1", "bad");
        var bytes = await File.ReadAllBytesAsync(bad);
        await File.WriteAllBytesAsync(bad, bytes[..100]);

        var nodes = await new DirectoryBundleSource(store.Path).ReadRunAsync("r1", CancellationToken.None);

        Assert.Contains("not a readable zip", nodes.Single(n => n.Node == "bad").Rejected, StringComparison.Ordinal);
        Assert.Single(nodes.Single(n => n.Node == "good").Findings!.Findings);
    }

    [Fact]
    public async Task ReadRun_BundleStoredUnderAnotherNodesName_IsRejected()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "r1", "n1", manifestNode: "impostor");

        var node = Assert.Single(await new DirectoryBundleSource(store.Path).ReadRunAsync("r1", CancellationToken.None));

        Assert.Contains("impostor", node.Rejected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadRun_UnsafeRunId_IsRefused()
    {
        using var store = new TempDirectory();

        await Assert.ThrowsAsync<ArgumentException>(() => new DirectoryBundleSource(store.Path).ReadRunAsync("../etc", CancellationToken.None));
    }

    [Fact]
    public async Task VerifyRun_TamperedEvidenceAndZipHash_AreReported()
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "r1", "intact");
        var tampered = await TestBundles.WriteAsync(store.Path, "r1", "tampered");
        TestBundles.ReplaceEntry(tampered, "kernel/kmsg.log", "line one\nline 2\nline three\n"u8.ToArray());

        var results = await new DirectoryBundleSource(store.Path).VerifyRunAsync("r1", CancellationToken.None);

        Assert.Equal("ok", results.Single(r => r.BundlePath == "r1/intact.zip").Outcome);
        var bad = results.Single(r => r.BundlePath == "r1/tampered.zip");
        Assert.Equal("corrupt", bad.Outcome);
        Assert.Contains(bad.Problems, p => p.Contains("kernel/kmsg.log", StringComparison.Ordinal));
        Assert.Contains(bad.Problems, p => p.Contains("status record", StringComparison.Ordinal));
    }
}
