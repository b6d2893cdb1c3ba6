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
    public async Task Report_BothADirectoryAndAContainer_IsRefused()
    {
        var (exit, _, stderr) = await CliRunner.CollectorAsync("report", "--store", "/tmp", "--blob-container-url", "https://example.invalid/c?sig=x");

        Assert.Equal(3, exit);
        Assert.Contains("Name the store once", stderr, StringComparison.Ordinal);
    }
}
