using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Azure.Storage.Blobs;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Api.Tests;

/// <summary><c>serve</c> over a Blob container (Azurite): runs listed, reports built, bundles streamed from the blob.</summary>
public sealed class BlobServeTests(Azurite azurite) : IClassFixture<Azurite>
{
    [Fact]
    public async Task Serve_BlobStore_ListsReportsAndStreamsTheSealedBundleOnly()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var local = temp.Combine("local");
        var zip = await TestBundles.WriteAsync(local, "blob-run", "n1", [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom")]);
        await TestBundles.WriteAsync(local, "blob-run", "n2", withStatus: false);
        var container = new BlobContainerClient(azurite.ConnectionString, "serve-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        foreach (var file in Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            await container.GetBlobClient(Path.GetRelativePath(local, file)).UploadAsync(file);
        }

        File.WriteAllText(temp.Combine("connection"), azurite.ConnectionString);
        File.WriteAllText(temp.Combine("token"), "blob-serve-token");
        await using var factory = new CollectorApiFactory(new Api.ServerOptions
        {
            Store = "/nonexistent",
            BlobConnectionStringFile = temp.Combine("connection"),
            BlobContainer = container.Name,
            TokenFile = temp.Combine("token"),
        });
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "blob-serve-token");

        using var runs = JsonDocument.Parse(await client.GetStringAsync("/api/runs"));
        using var report = JsonDocument.Parse(await client.GetStringAsync("/api/runs/blob-run/report"));
        using var download = await client.GetAsync("/api/runs/blob-run/nodes/n1/bundle");
        using var unsealed = await client.GetAsync("/api/runs/blob-run/nodes/n2/bundle");

        Assert.Equal("blob-run", runs.RootElement[0].GetProperty("runId").GetString());
        Assert.Equal("critical", report.RootElement.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(await File.ReadAllBytesAsync(zip), await download.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, unsealed.StatusCode);
    }
}
