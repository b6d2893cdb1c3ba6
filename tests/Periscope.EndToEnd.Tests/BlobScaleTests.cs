using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;
using Periscope.Agent.Export;
using Periscope.Bundle;
using Periscope.Collector.Sources;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The collector reading a run from Blob Storage (Azurite) with few requests, in parallel, and again only what changed:
/// every HTTP request the reading client sends is counted on the wire by a pipeline policy.
/// </summary>
[Collection(AzuriteTests.Name)]
public sealed class BlobScaleTests(Azurite azurite)
{
    private const string Run = "run-1";

    [Fact]
    public async Task ReadRun_UploadedByTheAgent_OneListingAndOneRangedReadPerBundle_BoundedInParallel()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var nodes = Names(24);
        var container = await UploadedRunAsync(temp.Path, nodes);
        var log = new RequestLog(gate: 8);
        var source = new BlobBundleSource(Reader(container.Name, log), parallelReads: 8) { UseReportDigests = false }; // the zip path, as for a digest too large

        var read = await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);

        Assert.Equal(nodes, read.Select(n => n.Node)); // node order, whatever order the reads finished in
        Assert.All(read, n => Assert.True(n.IsUsable, n.Rejected));
        AssertSameAsDirectory(await new DirectoryBundleSource(temp.Path).ReadRunAsync(Run, TestContext.Current.CancellationToken), read);
        Assert.Equal(1, log.Listings);
        Assert.Empty(log.StatusDownloads); // every status record came with the listing
        Assert.Equal(nodes.Select(n => $"{Run}/{n}.zip").Order(StringComparer.Ordinal), log.ZipReads.Select(r => r.Path).Order(StringComparer.Ordinal));
        Assert.All(log.ZipReads, r => Assert.NotNull(r.Range)); // ranged, never the whole zip
        Assert.Equal(8, log.MaxInFlight); // eight at once, never more
        Assert.Equal(nodes.Count, source.BundlesRead);
    }

    [Fact]
    public async Task ReadRun_UploadedByTheAgent_FromTheListingAlone_TheReportDigestsSayWhatTheZipsSay()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var nodes = Names(12);
        var container = await CreateContainerAsync();
        await UploadAsync(temp.Path, container.Name, nodes[..6]);
        await UploadAsync(temp.Path, container.Name, nodes[6..], [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom"), TestBundles.Finding("DNS_TIMEOUT")]);
        var log = new RequestLog();
        var source = new BlobBundleSource(Reader(container.Name, log), parallelReads: 4);

        var read = await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);

        Assert.Equal((1, 0, 0), (log.Listings, log.ZipReads.Count, log.StatusDownloads.Count)); // one request for the whole run
        Assert.Equal(nodes.Count, source.DigestsUsed);
        Assert.All(read, n => Assert.True(n.IsUsable, n.Rejected));
        var fromZips = await new BlobBundleSource(Reader(container.Name, new RequestLog())) { UseReportDigests = false }.ReadRunAsync(Run, TestContext.Current.CancellationToken);
        AssertSameDocuments(fromZips, read);
        Assert.Equal(["DNS_TIMEOUT", "KERNEL_OOM_KILL"], read.Single(n => n.Node == "n07").Findings!.Findings.Select(f => f.Code).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ReadRun_DigestsThatCannotBeTrusted_AreIgnored_AndTheZipsRead()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        string[] nodes = ["bomb", "garbage", "good", "other-node", "other-size"];
        var container = await CreateContainerAsync();
        await UploadAsync(temp.Path, container.Name, nodes, [TestBundles.Finding("DNS_TIMEOUT")]);
        var metadataOf = new Dictionary<string, IDictionary<string, string>>();
        foreach (var node in nodes)
        {
            metadataOf[node] = (await container.GetBlobClient($"{Run}/{node}{StoreLayout.StatusSuffix}").GetPropertiesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value.Metadata;
            Assert.True(metadataOf[node].ContainsKey(StoreLayout.ReportDigestMetadata), node);
        }

        async Task SetDigestAsync(string node, string value)
        {
            var metadata = new Dictionary<string, string>(metadataOf[node]) { [StoreLayout.ReportDigestMetadata] = value };
            await container.GetBlobClient($"{Run}/{node}{StoreLayout.StatusSuffix}").SetMetadataAsync(metadata, cancellationToken: TestContext.Current.CancellationToken);
        }

        // A gzip bomb (a megabyte of zeros, a few KiB compressed), base64 that is no gzip, another node's digest, and a
        // digest whose node and record agree but whose zip is listed at another size than the record says.
        using (var bomb = new MemoryStream())
        {
            using (var gzip = new GZipStream(bomb, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                gzip.Write(new byte[1024 * 1024]);
            }

            await SetDigestAsync("bomb", Convert.ToBase64String(bomb.ToArray()));
        }

        await SetDigestAsync("garbage", Convert.ToBase64String("not gzip at all"u8));
        await SetDigestAsync("other-node", metadataOf["good"][StoreLayout.ReportDigestMetadata]);
        var zip = await File.ReadAllBytesAsync(Path.Combine(temp.Path, Run, "other-size.zip"), TestContext.Current.CancellationToken);
        await container.GetBlobClient($"{Run}/other-size.zip").UploadAsync(new BinaryData(zip.Concat(new byte[10]).ToArray()), overwrite: true, TestContext.Current.CancellationToken);
        var log = new RequestLog();
        var source = new BlobBundleSource(Reader(container.Name, log));

        var read = await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);

        Assert.Equal(1, source.DigestsUsed); // "good" only
        Assert.Equal(["bomb", "garbage", "other-node", "other-size"], log.ZipReads.Select(r => Path.GetFileNameWithoutExtension(r.Path)).Distinct().Order(StringComparer.Ordinal));
        Assert.All(read.Where(n => n.Node != "other-size"), n => Assert.True(n.IsUsable, n.Rejected));
        Assert.Equal("other-node", read.Single(n => n.Node == "other-node").Manifest!.Node.Name);
        Assert.Contains("its status record says", read.Single(n => n.Node == "other-size").Rejected, StringComparison.Ordinal); // the zip's verdict, not the digest's
    }

    [Fact]
    public async Task Upload_ADigestThatDoesNotFitTheMetadata_IsLeftOut_AndTheZipRead()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var container = await CreateContainerAsync();
        // Three hundred findings with distinct subjects: far more than 8 KiB of metadata, compressed.
        var many = Enumerable.Range(0, 300).Select(i => TestBundles.Finding("DNS_TIMEOUT", Severity.Warning, $"device-{Guid.NewGuid():N}")).ToList();
        await UploadAsync(temp.Path, container.Name, ["big"], many);
        await UploadAsync(temp.Path, container.Name, ["small"]);
        var metadata = (await container.GetBlobClient($"{Run}/big{StoreLayout.StatusSuffix}").GetPropertiesAsync(cancellationToken: TestContext.Current.CancellationToken)).Value.Metadata;
        var log = new RequestLog();
        var source = new BlobBundleSource(Reader(container.Name, log));

        var read = await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);

        Assert.False(metadata.ContainsKey(StoreLayout.ReportDigestMetadata));
        Assert.True(metadata.ContainsKey(StoreLayout.StatusRecordMetadata));
        Assert.True(metadata.Sum(m => m.Key.Length + m.Value.Length) <= StoreLayout.MaxMetadataBytes);
        Assert.Equal(1, source.DigestsUsed);
        Assert.Equal(["big"], log.ZipReads.Select(r => Path.GetFileNameWithoutExtension(r.Path)).Distinct());
        Assert.Equal(300, read.Single(n => n.Node == "big").Findings!.Findings.Count);
    }

    [Fact]
    public async Task ReadRun_Again_ReadsOnlyTheNewAndChangedBundles()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var container = await UploadedRunAsync(temp.Path, Names(20));
        var log = new RequestLog();
        var source = new BlobBundleSource(Reader(container.Name, log), parallelReads: 4) { UseReportDigests = false };
        await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);

        // Three nodes arrive, one node's bundle is replaced by another with a finding, one node's bundle is removed.
        await UploadAsync(temp.Path, container.Name, ["n20", "n21", "n22"]);
        await container.DeleteBlobAsync($"{Run}/n05.zip");
        await container.DeleteBlobAsync($"{Run}/n05.status.json");
        File.Delete(Path.Combine(temp.Path, Run, "n05.zip"));
        await UploadAsync(temp.Path, container.Name, ["n05"], [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom")]);
        await container.DeleteBlobAsync($"{Run}/n07.zip");
        await container.DeleteBlobAsync($"{Run}/n07.status.json");
        log.Clear();

        var read = await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);

        Assert.Equal(["n05", "n20", "n21", "n22"], log.ZipReads.Select(r => Path.GetFileNameWithoutExtension(r.Path)).Order(StringComparer.Ordinal));
        Assert.Equal(1, log.Listings);
        Assert.Equal(20 + 4, source.BundlesRead);
        Assert.Equal(22, read.Count);
        Assert.DoesNotContain(read, n => n.Node == "n07");
        Assert.Equal("KERNEL_OOM_KILL", Assert.Single(read.Single(n => n.Node == "n05").Findings!.Findings).Code);
        Assert.All(read, n => Assert.True(n.IsUsable, n.Rejected));

        // Unchanged, the run costs its listing only.
        log.Clear();
        await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);
        Assert.Equal((1, 0), (log.Listings, log.ZipReads.Count));
    }

    [Fact]
    public async Task ReadRun_ReadRecently_IsReadAgainFromTheStoresListing_NotListedAgain()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var container = await UploadedRunAsync(temp.Path, Names(10));
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TestBundles.Start);
        var log = new RequestLog();
        var source = new BlobBundleSource(Reader(container.Name, log), parallelReads: 4, timeProvider: clock) { ListingReuse = TimeSpan.FromSeconds(30), UseReportDigests = false };
        await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);
        await UploadAsync(temp.Path, container.Name, ["n10", "n11"]);

        // serve's poll lists the store and sees the run changed; its report is built from that listing.
        await source.ListRunsAsync(TestContext.Current.CancellationToken);
        log.Clear();
        var read = await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);

        Assert.Equal(0, log.Listings);
        Assert.Equal(["n10", "n11"], log.ZipReads.Select(r => Path.GetFileNameWithoutExtension(r.Path)).Order(StringComparer.Ordinal));
        Assert.Equal(12, read.Count);

        // A listing older than the reuse is not trusted: the run is listed again.
        clock.Advance(TimeSpan.FromSeconds(31));
        log.Clear();
        await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);
        Assert.Equal((1, 0), (log.Listings, log.ZipReads.Count));
    }

    [Fact]
    public async Task ListRunStarts_ARequestOrTwoPerRun_NotEveryBlob_SameOrderAsTheFullListing()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var store = temp.Combine("store");
        var container = await CreateContainerAsync();
        var exporter = new BlobBundleExporter(Options.Create(new BlobSinkOptions { Auth = "connection-string", ConnectionString = azurite.ConnectionString, Container = container.Name }));
        foreach (var (run, hours) in new[] { ("zz-oldest", -5), ("aa-newest", 0), ("mm-middle", -2) })
        {
            for (var i = 0; i < 40; i++)
            {
                var node = $"n{i:00}";
                var zip = await TestBundles.WriteAsync(store, run, node, startedAt: TestBundles.Start.AddHours(hours).AddSeconds(i));
                Assert.True((await exporter.UploadAsync(run, node, zip, Path.Combine(store, run, node + StoreLayout.StatusSuffix), TestContext.Current.CancellationToken)).Succeeded);
            }
        }

        await container.GetBlobClient("mm-middle/n99.zip").UploadAsync(new BinaryData("not sealed"u8.ToArray())); // no status record
        var log = new RequestLog();
        var source = new BlobBundleSource(Reader(container.Name, log));

        var starts = await source.ListRunStartsAsync(TestContext.Current.CancellationToken);
        var requests = log.Listings;
        var full = await source.ListRunsAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["aa-newest", "mm-middle", "zz-oldest"], starts.Select(r => r.RunId));
        Assert.Equal(full.Select(r => r.RunId), starts.Select(r => r.RunId));
        Assert.All(starts, r => Assert.NotNull(r.StartedAt));
        Assert.Equal(1 + 3, requests); // the run folders, then one small page per run
        Assert.Empty(log.StatusDownloads);
    }

    [Fact]
    public async Task ReadRun_JsonEntriesFarFromTheTail_AreFetchedInOneMoreRead()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var store = temp.Combine("store");
        // Another writer's layout: the JSON entries first, then a megabyte of incompressible evidence, then the directory.
        var evidence = RandomNumberGenerator.GetBytes(1024 * 1024);
        var zip = await TestBundles.WriteAsync(store, Run, "far", [TestBundles.Finding("DNS_TIMEOUT")], evidence: evidence);
        ReorderJsonFirst(zip);
        RewriteStatus(store, "far");
        var container = await CreateContainerAsync();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(store, Run)))
        {
            await container.GetBlobClient($"{Run}/{Path.GetFileName(file)}").UploadAsync(file);
        }

        var log = new RequestLog();
        var read = Assert.Single(await new BlobBundleSource(Reader(container.Name, log)).ReadRunAsync(Run, TestContext.Current.CancellationToken));

        Assert.True(read.IsUsable, read.Rejected);
        Assert.Equal("DNS_TIMEOUT", Assert.Single(read.Findings!.Findings).Code);
        Assert.Equal(2, log.ZipReads.Count); // the tail, then the three JSON entries merged into one range
        Assert.True(log.BytesAsked < 256 * 1024 + 128 * 1024, $"{log.BytesAsked} bytes asked of a {new FileInfo(zip).Length}-byte zip");
    }

    [Fact]
    public async Task ReadRun_StatusRecordsWithoutUsableMetadata_AreDownloaded()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var store = temp.Combine("store");
        string[] nodes = ["bad-base64", "bad-record", "good", "none"];
        foreach (var node in nodes)
        {
            await TestBundles.WriteAsync(store, Run, node);
        }

        var container = await CreateContainerAsync();
        foreach (var node in nodes)
        {
            var status = await File.ReadAllBytesAsync(Path.Combine(store, Run, node + StoreLayout.StatusSuffix));
            var metadata = node switch
            {
                "bad-base64" => new Dictionary<string, string> { [StoreLayout.StatusRecordMetadata] = "not*base64" },
                "bad-record" => new Dictionary<string, string> { [StoreLayout.StatusRecordMetadata] = Convert.ToBase64String("""{"schemaVersion":"1.0"}"""u8) },
                "good" => new Dictionary<string, string> { [StoreLayout.StatusRecordMetadata] = Convert.ToBase64String(status) },
                _ => null,
            };
            await container.GetBlobClient($"{Run}/{node}.zip").UploadAsync(Path.Combine(store, Run, node + StoreLayout.BundleSuffix));
            await container.GetBlobClient($"{Run}/{node}{StoreLayout.StatusSuffix}").UploadAsync(new BinaryData(status), new BlobUploadOptions { Metadata = metadata });
        }

        var log = new RequestLog();
        var read = await new BlobBundleSource(Reader(container.Name, log)).ReadRunAsync(Run, TestContext.Current.CancellationToken);

        Assert.All(read, n => Assert.True(n.IsUsable, n.Rejected));
        Assert.Equal([$"{Run}/bad-base64.status.json", $"{Run}/bad-record.status.json", $"{Run}/none.status.json"], log.StatusDownloads.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ReadRun_ZipReplacedWhileRead_IsRejectedForNow_AndReadAgainOnceListed()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var container = await UploadedRunAsync(temp.Path, Names(3));
        var replaced = 0;
        var log = new RequestLog
        {
            // The first read of n01's zip finds it replaced (same name, a new version) between the listing and the read.
            BeforeSend = async request =>
            {
                if (request.Path.EndsWith("/n01.zip", StringComparison.Ordinal) && Interlocked.Exchange(ref replaced, 1) == 0)
                {
                    await container.GetBlobClient($"{Run}/n01.zip").UploadAsync(
                        new BinaryData(await File.ReadAllBytesAsync(Path.Combine(temp.Path, Run, "n01.zip"))), overwrite: true);
                }
            },
        };
        var source = new BlobBundleSource(Reader(container.Name, log), parallelReads: 2) { UseReportDigests = false };

        var first = await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);
        var second = await source.ReadRunAsync(Run, TestContext.Current.CancellationToken);

        Assert.Contains("replaced while it was read", first.Single(n => n.Node == "n01").Rejected, StringComparison.Ordinal);
        Assert.True(first.Single(n => n.Node == "n01").ReadFailed);
        Assert.All(first.Where(n => n.Node != "n01"), n => Assert.True(n.IsUsable, n.Rejected));
        Assert.All(second, n => Assert.True(n.IsUsable, n.Rejected)); // the same bytes again: read anew, whole
    }

    [Fact]
    public async Task VerifyRun_InParallel_JudgesEveryBundle_AndReadsEachZipOnce()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var container = await UploadedRunAsync(temp.Path, Names(6));
        await container.GetBlobClient($"{Run}/n02.zip").UploadAsync(new BinaryData(Corrupted(await File.ReadAllBytesAsync(Path.Combine(temp.Path, Run, "n02.zip")))), overwrite: true);
        var log = new RequestLog(gate: 3);

        var results = await new BlobBundleSource(Reader(container.Name, log), parallelReads: 3).VerifyRunAsync(Run, TestContext.Current.CancellationToken);

        Assert.Equal(Names(6).Select(n => $"{Run}/{n}.zip"), results.Select(r => r.BundlePath));
        Assert.Equal("corrupt", results.Single(r => r.BundlePath.EndsWith("n02.zip", StringComparison.Ordinal)).Outcome);
        Assert.All(results.Where(r => !r.BundlePath.EndsWith("n02.zip", StringComparison.Ordinal)), r => Assert.Equal("ok", r.Outcome));
        Assert.Equal(6, log.ZipReads.Count); // one download each
        Assert.Equal(3, log.MaxInFlight);
    }

    private static List<string> Names(int count) => Enumerable.Range(0, count).Select(i => $"n{i:00}").ToList();

    /// <summary>Writes the nodes' bundles into <paramref name="store"/> and uploads each as the agent does (its exporter).</summary>
    private async Task<BlobContainerClient> UploadedRunAsync(string store, IReadOnlyList<string> nodes)
    {
        var container = await CreateContainerAsync();
        await UploadAsync(store, container.Name, nodes);
        return container;
    }

    private async Task UploadAsync(string store, string container, IReadOnlyList<string> nodes, IReadOnlyList<Finding>? findings = null)
    {
        var exporter = new BlobBundleExporter(Options.Create(new BlobSinkOptions { Auth = "connection-string", ConnectionString = azurite.ConnectionString, Container = container }));
        foreach (var node in nodes)
        {
            var zip = await TestBundles.WriteAsync(store, Run, node, findings, pool: "p");
            var result = await exporter.UploadAsync(Run, node, zip, Path.Combine(store, Run, node + StoreLayout.StatusSuffix), TestContext.Current.CancellationToken);
            Assert.True(result.Succeeded, result.Error);
        }
    }

    private async Task<BlobContainerClient> CreateContainerAsync()
    {
        var container = new BlobContainerClient(azurite.ConnectionString, "scale-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        return container;
    }

    private BlobContainerClient Reader(string container, RequestLog log)
    {
        var options = new BlobClientOptions();
        options.AddPolicy(log, HttpPipelinePosition.PerRetry);
        return new BlobContainerClient(azurite.ConnectionString, container, options);
    }

    private static void AssertSameAsDirectory(IReadOnlyList<NodeBundle> expected, IReadOnlyList<NodeBundle> actual)
    {
        Assert.Equal(expected.Select(n => n.Node), actual.Select(n => n.Node));
        foreach (var (e, a) in expected.Zip(actual))
        {
            Assert.Equal(JsonSerializer.Serialize(e.Manifest!, BundleJsonContext.Default.Manifest), JsonSerializer.Serialize(a.Manifest!, BundleJsonContext.Default.Manifest));
            Assert.Equal(JsonSerializer.Serialize(e.Findings!, BundleJsonContext.Default.FindingsDocument), JsonSerializer.Serialize(a.Findings!, BundleJsonContext.Default.FindingsDocument));
            Assert.Equal(JsonSerializer.Serialize(e.Status!, BundleJsonContext.Default.StatusRecord), JsonSerializer.Serialize(a.Status!, BundleJsonContext.Default.StatusRecord));
        }
    }

    /// <summary>The same documents: manifests (without the collectors' file and command lists, which a digest leaves out), facts, findings, records.</summary>
    private static void AssertSameDocuments(IReadOnlyList<NodeBundle> expected, IReadOnlyList<NodeBundle> actual)
    {
        static string Manifest(Manifest m) => JsonSerializer.Serialize(m with { Collectors = [.. m.Collectors.Select(c => c with { Files = [], Commands = null })] }, BundleJsonContext.Default.Manifest);
        Assert.Equal(expected.Select(n => n.Node), actual.Select(n => n.Node));
        foreach (var (e, a) in expected.Zip(actual))
        {
            Assert.Equal(Manifest(e.Manifest!), Manifest(a.Manifest!));
            Assert.Equal(JsonSerializer.Serialize(e.Facts!, BundleJsonContext.Default.FactsDocument), JsonSerializer.Serialize(a.Facts!, BundleJsonContext.Default.FactsDocument));
            Assert.Equal(JsonSerializer.Serialize(e.Findings!, BundleJsonContext.Default.FindingsDocument), JsonSerializer.Serialize(a.Findings!, BundleJsonContext.Default.FindingsDocument));
            Assert.Equal(JsonSerializer.Serialize(e.Status!, BundleJsonContext.Default.StatusRecord), JsonSerializer.Serialize(a.Status!, BundleJsonContext.Default.StatusRecord));
            Assert.Equal(e.ReceivedAt, a.ReceivedAt);
        }
    }

    /// <summary>Rewrites a zip with its JSON entries first and its evidence after them.</summary>
    private static void ReorderJsonFirst(string zipPath)
    {
        var entries = new List<(string Name, byte[] Bytes)>();
        using (var zip = ZipFile.OpenRead(zipPath))
        {
            foreach (var entry in zip.Entries)
            {
                using var stream = entry.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                entries.Add((entry.FullName, copy.ToArray()));
            }
        }

        using var output = ZipFile.Open(zipPath + ".new", ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries.OrderBy(e => e.Name.EndsWith(".json", StringComparison.Ordinal) ? 0 : 1))
        {
            using var stream = output.CreateEntry(name, CompressionLevel.Fastest).Open();
            stream.Write(bytes);
        }

        output.Dispose();
        File.Move(zipPath + ".new", zipPath, overwrite: true);
    }

    /// <summary>Brings a node's status record in line with its (rewritten) zip.</summary>
    private static void RewriteStatus(string store, string node)
    {
        var statusPath = Path.Combine(store, Run, node + StoreLayout.StatusSuffix);
        var zip = File.ReadAllBytes(Path.Combine(store, Run, node + StoreLayout.BundleSuffix));
        var status = JsonSerializer.Deserialize(File.ReadAllBytes(statusPath), BundleJsonContext.Default.StatusRecord)! with
        {
            BundleSize = zip.Length,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(zip)),
        };
        File.WriteAllText(statusPath, JsonSerializer.Serialize(status, BundleJsonContext.Default.StatusRecord));
    }

    /// <summary>The same zip with one byte of its first entry's data flipped.</summary>
    private static byte[] Corrupted(byte[] zip)
    {
        var copy = (byte[])zip.Clone();
        var nameLength = BitConverter.ToUInt16(copy, 26);
        var extraLength = BitConverter.ToUInt16(copy, 28);
        copy[30 + nameLength + extraLength] ^= 0xFF;
        return copy;
    }

    /// <summary>
    /// Sees every request the reading client sends (retries included): listings, status downloads and reads of zips, with
    /// their ranges, and how many were in flight at once. With a gate, the first reads of zips wait until that many are
    /// in flight together (at most ten seconds), so a bound that is reached is seen whatever the machine's speed.
    /// </summary>
    private sealed class RequestLog(int gate = 0) : HttpPipelinePolicy
    {
        private readonly ConcurrentQueue<Request> _requests = new();
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inFlight;
        private int _maxInFlight;

        public Func<Request, Task>? BeforeSend { get; init; }

        public int Listings => _requests.Count(r => r.Query.Contains("comp=list", StringComparison.Ordinal));

        public List<string> StatusDownloads => [.. _requests.Where(r => r.Method == "GET" && r.Path.EndsWith(StoreLayout.StatusSuffix, StringComparison.Ordinal)).Select(r => r.Path)];

        public List<Request> ZipReads => [.. _requests.Where(r => r.Method == "GET" && r.Path.EndsWith(StoreLayout.BundleSuffix, StringComparison.Ordinal))];

        public long BytesAsked => ZipReads.Sum(r => r.Range is { } range ? RangeLength(range) : 0);

        public int MaxInFlight => Volatile.Read(ref _maxInFlight);

        public void Clear()
        {
            _requests.Clear();
            Volatile.Write(ref _maxInFlight, 0);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var request = Record(message);
            if (BeforeSend is not null)
            {
                await BeforeSend(request);
            }

            var now = Interlocked.Increment(ref _inFlight);
            int max;
            while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
            {
            }

            try
            {
                if (gate > 0 && ZipRead(request) && !_open.Task.IsCompleted)
                {
                    if (now >= gate)
                    {
                        _open.TrySetResult();
                    }

                    await _open.Task.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
                }

                await ProcessNextAsync(message, pipeline);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Record(message);
            ProcessNext(message, pipeline);
        }

        private static bool ZipRead(Request request) => request.Method == "GET" && request.Path.EndsWith(StoreLayout.BundleSuffix, StringComparison.Ordinal);

        private Request Record(HttpMessage message)
        {
            var uri = message.Request.Uri.ToUri();
            message.Request.Headers.TryGetValue("x-ms-range", out var range);
            var request = new Request(message.Request.Method.Method, Uri.UnescapeDataString(uri.AbsolutePath).Split('/', 4)[^1], uri.Query, range);
            _requests.Enqueue(request);
            return request;
        }

        private static long RangeLength(string range)
        {
            var bounds = range["bytes=".Length..].Split('-');
            return long.Parse(bounds[1], System.Globalization.CultureInfo.InvariantCulture) - long.Parse(bounds[0], System.Globalization.CultureInfo.InvariantCulture) + 1;
        }
    }

    private sealed record Request(string Method, string Path, string Query, string? Range);
}
