using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>The collector reading a store from Blob Storage (Azurite) judges a run exactly as from a directory.</summary>
[Collection(AzuriteTests.Name)]
public sealed class BlobSourceTests(Azurite azurite)
{
    [Fact]
    public async Task Report_FromBlobContainer_IsTheSameReportAsFromTheDirectory()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var store = temp.Combine("store");
        var earlier = TestBundles.Start.AddHours(-3);
        foreach (var node in new[] { "n1", "n2", "n3" })
        {
            await TestBundles.WriteAsync(store, "run-0", node, startedAt: earlier, pool: "p");
        }

        await TestBundles.WriteAsync(store, "run-1", "n1", [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom")], pool: "p");
        await TestBundles.WriteAsync(store, "run-1", "n2", [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom")], pool: "p");
        await TestBundles.WriteAsync(store, "run-1", "n4", withStatus: false, pool: "p");
        var container = new BlobContainerClient(azurite.ConnectionString, "source-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        foreach (var file in Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            await container.GetBlobClient(Path.GetRelativePath(store, file)).UploadAsync(file);
        }

        var connection = temp.Combine("connection-string");
        await File.WriteAllTextAsync(connection, azurite.ConnectionString);

        var (blobExit, blobJson, blobErrors) = await CliRunner.CollectorAsync("report", "--blob-connection-string-file", connection, "--blob-container", container.Name, "--format", "json");
        var (dirExit, dirJson, _) = await CliRunner.CollectorAsync("report", "--store", store, "--format", "json");
        var (verifyExit, verifyOut, verifyErrors) = await CliRunner.CollectorAsync("verify", "--blob-connection-string-file", connection, "--blob-container", container.Name, "--run-id", "run-1");

        Assert.True(blobExit == dirExit, blobErrors);
        var blob = JsonNode.Parse(blobJson)!.AsObject();
        var directory = JsonNode.Parse(dirJson)!.AsObject();
        blob.Remove("generatedAt");
        directory.Remove("generatedAt");
        Assert.Equal(directory.ToJsonString(), blob.ToJsonString());
        Assert.Equal("run-1", blob["runId"]!.GetValue<string>());
        Assert.Equal("run-0", blob["previousRunId"]!.GetValue<string>());
        Assert.Contains(blob["correlations"]!.AsArray(), c => c!["code"]!.GetValue<string>() == "NODE_MISSING");
        Assert.True(verifyExit == 1, verifyErrors + verifyOut); // n4 is incomplete, the others intact
        Assert.Contains("incomplete run-1/n4.zip", verifyOut, StringComparison.Ordinal);
        Assert.Contains("2 of 3 bundles of run run-1 intact", verifyOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Progress_FromBlobContainer_IsWhatTheDirectorySays_StartedSealedUploaded()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var store = temp.Combine("store");
        await TestBundles.WriteAsync(store, "run-p", "n1");
        await TestBundles.WriteAsync(store, "run-p", "n2", withStatus: false);
        foreach (var node in new[] { "n1", "n2", "n3" })
        {
            await File.WriteAllBytesAsync(Path.Combine(store, StoreLayout.StartedPath("run-p", node)),
                System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new StartedMarker { Node = node, RunId = "run-p", StartedAt = TestBundles.Start }, BundleJsonContext.Default.StartedMarker));
        }

        var container = new BlobContainerClient(azurite.ConnectionString, "progress-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        foreach (var file in Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories))
        {
            await container.GetBlobClient(Path.GetRelativePath(store, file)).UploadAsync(file);
        }

        var connection = temp.Combine("connection-string");
        await File.WriteAllTextAsync(connection, azurite.ConnectionString);
        var blob = await Collector.Sources.BlobBundleSource.Open(new Collector.Sources.BlobStoreSettings(null, connection, container.Name, null, null), TimeSpan.FromSeconds(20), 8)
            .ProgressAsync("run-p", TestContext.Current.CancellationToken);
        var directory = await new Collector.Sources.DirectoryBundleSource(store).ProgressAsync("run-p", TestContext.Current.CancellationToken);

        foreach (var progress in new[] { blob, directory })
        {
            Assert.Equal(["n1", "n2", "n3"], progress.Keys.Order(StringComparer.Ordinal));
            Assert.Equal((true, true, true), (progress["n1"].StartedAt is not null, progress["n1"].HasBundle, progress["n1"].Status is not null));
            Assert.Equal((true, true, false), (progress["n2"].StartedAt is not null, progress["n2"].HasBundle, progress["n2"].Status is not null));
            Assert.Equal((true, false, false), (progress["n3"].StartedAt is not null, progress["n3"].HasBundle, progress["n3"].Status is not null));
        }

        Assert.Equal(TestBundles.Start, directory["n3"].StartedAt); // the agent's time from the marker
        Assert.Empty(await new Collector.Sources.DirectoryBundleSource(store).ProgressAsync("run-none", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ListRuns_StatusBlobsWithStartTimeMetadata_AreNotDownloaded_OthersAre()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var store = temp.Combine("store");
        await TestBundles.WriteAsync(store, "old-agent", "n1", startedAt: TestBundles.Start.AddHours(-1));
        await TestBundles.WriteAsync(store, "new-agent", "n1", startedAt: TestBundles.Start);
        await TestBundles.WriteAsync(store, "new-agent", "n2", startedAt: TestBundles.Start.AddSeconds(3));
        var container = new BlobContainerClient(azurite.ConnectionString, "listing-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        long withoutMetadata = 0;
        foreach (var file in Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetRelativePath(store, file);
            var options = new Azure.Storage.Blobs.Models.BlobUploadOptions();
            if (name.StartsWith("new-agent/", StringComparison.Ordinal) && name.EndsWith(StoreLayout.StatusSuffix, StringComparison.Ordinal))
            {
                var record = System.Text.Json.JsonSerializer.Deserialize(await File.ReadAllBytesAsync(file), BundleJsonContext.Default.StatusRecord)!;
                options.Metadata = new Dictionary<string, string> { [StoreLayout.StartedAtMetadata] = UtcTimestampConverter.Format(record.StartedAt) };
            }
            else if (name.EndsWith(StoreLayout.StatusSuffix, StringComparison.Ordinal))
            {
                withoutMetadata += new FileInfo(file).Length;
            }

            await container.GetBlobClient(name).UploadAsync(file, options);
        }

        var source = new Collector.Sources.BlobBundleSource(container);
        var runs = await source.ListRunsAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["new-agent", "old-agent"], runs.Select(r => r.RunId));
        Assert.Equal(TestBundles.Start.AddSeconds(3), runs[0].StartedAt);
        Assert.Equal((2, 2), (runs[0].Bundles, runs[0].Sealed));
        Assert.Equal(TestBundles.Start.AddHours(-1), runs[1].StartedAt);
        Assert.Equal(withoutMetadata, source.BytesRead); // only old-agent's record was downloaded
        await source.ListRunsAsync(TestContext.Current.CancellationToken);
        Assert.Equal(withoutMetadata, source.BytesRead); // and only once
    }

    [Fact]
    public async Task ReportAndVerify_ParallelReadsOutOfRange_AreRefused()
    {
        var (reportExit, _, reportErrors) = await CliRunner.CollectorAsync("report", "--store", "/tmp", "--parallel-reads", "0");
        var (verifyExit, _, verifyErrors) = await CliRunner.CollectorAsync("verify", "--store", "/tmp", "--parallel-reads", "257");

        Assert.Equal((3, 3), (reportExit, verifyExit));
        Assert.Contains("--parallel-reads must be between 1 and 256 (found 0)", reportErrors, StringComparison.Ordinal);
        Assert.Contains("--parallel-reads must be between 1 and 256 (found 257)", verifyErrors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_BothADirectoryAndAContainer_IsRefused()
    {
        var (exit, _, stderr) = await CliRunner.CollectorAsync("report", "--store", "/tmp", "--blob-container-url", "https://example.invalid/c?sig=x");

        Assert.Equal(3, exit);
        Assert.Contains("Name the store once", stderr, StringComparison.Ordinal);
    }
}
