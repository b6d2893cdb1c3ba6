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
    /// <summary>A new container holding the directory store's files under the same names.</summary>
    private async Task<BlobContainerClient> UploadAsync(string local, string prefix)
    {
        var container = new BlobContainerClient(azurite.ConnectionString, prefix + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        foreach (var file in Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            await container.GetBlobClient(Path.GetRelativePath(local, file)).UploadAsync(file);
        }

        return container;
    }

    [Fact]
    public async Task Serve_BlobStore_ListsReportsAndStreamsTheSealedBundleOnly()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var local = temp.Combine("local");
        var zip = await TestBundles.WriteAsync(local, "blob-run", "n1", [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom")]);
        await TestBundles.WriteAsync(local, "blob-run", "n2", withStatus: false);
        var container = await UploadAsync(local, "serve-");

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
        Assert.Equal(1, runs.RootElement[0].GetProperty("health").GetProperty("critical").GetInt32()); // from the record itself: no metadata here
        Assert.Equal("critical", report.RootElement.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(await File.ReadAllBytesAsync(zip), await download.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, unsealed.StatusCode);
    }

    [Fact]
    public async Task Serve_SasDownloads_RedirectToAShortLivedReadOnlySasOfThatBlobOnly()
    {
        azurite.Require();
        using var temp = new TempDirectory();
        var local = temp.Combine("local");
        var zip = await TestBundles.WriteAsync(local, "sas-run", "n1");
        await TestBundles.WriteAsync(local, "sas-run", "n2");
        var container = await UploadAsync(local, "sas-");

        File.WriteAllText(temp.Combine("connection"), azurite.ConnectionString);
        File.WriteAllText(temp.Combine("token"), "sas-serve-token");
        var options = new Api.ServerOptions
        {
            Store = "/nonexistent",
            BlobConnectionStringFile = temp.Combine("connection"),
            BlobContainer = container.Name,
            TokenFile = temp.Combine("token"),
            Downloads = "sas",
            SasLifetime = TimeSpan.FromMinutes(2),
        };
        Assert.Empty(options.Validate());
        await using var factory = new CollectorApiFactory(options);
        var client = factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var anonymous = await client.GetAsync("/api/runs/sas-run/nodes/n1/bundle");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sas-serve-token");
        var before = DateTimeOffset.UtcNow;

        using var redirect = await client.GetAsync("/api/runs/sas-run/nodes/n1/bundle");
        var location = redirect.Headers.Location!;
        var query = System.Web.HttpUtility.ParseQueryString(location.Query);
        using var plain = new HttpClient(); // no operator token: the SAS alone
        using var download = await plain.GetAsync(location);
        using var put = new HttpRequestMessage(HttpMethod.Put, location) { Content = new ByteArrayContent([1, 2, 3]) };
        put.Headers.Add("x-ms-blob-type", "BlockBlob");
        put.Headers.Add("x-ms-version", "2021-12-02");
        using var write = await plain.SendAsync(put);
        var other = new UriBuilder(location) { Path = location.AbsolutePath.Replace("/n1.zip", "/n2.zip", StringComparison.Ordinal) }.Uri;
        using var otherBlob = await plain.GetAsync(other);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("no-store", redirect.Headers.CacheControl!.ToString());
        Assert.EndsWith($"/{container.Name}/sas-run/n1.zip", location.AbsolutePath, StringComparison.Ordinal);
        Assert.Equal(("r", "b"), (query["sp"], query["sr"]));
        var expires = DateTimeOffset.Parse(query["se"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires, before.AddMinutes(2).AddSeconds(-5), DateTimeOffset.UtcNow.AddMinutes(2).AddSeconds(1));
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(await File.ReadAllBytesAsync(zip), await download.Content.ReadAsByteArrayAsync());
        Assert.Equal("attachment; filename=\"sas-run-n1.zip\"", download.Content.Headers.ContentDisposition!.ToString());
        Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode); // read only
        Assert.Equal(HttpStatusCode.Forbidden, otherBlob.StatusCode); // that blob only
    }

    [Fact]
    public void Options_SasDownloadsWithoutAnAccountKey_AreRefused()
    {
        var directory = new Api.ServerOptions { Store = Path.GetTempPath(), TokenFile = "/etc/hostname", Downloads = "sas" };
        var containerSas = new Api.ServerOptions { BlobContainerUrl = "https://account.blob.core.windows.net/c?sv=x&sig=y", TokenFile = "/etc/hostname", Downloads = "sas" };

        Assert.Contains(directory.Validate(), f => f.Contains("Downloads sas needs a Blob store", StringComparison.Ordinal));
        Assert.Contains(containerSas.Validate(), f => f.Contains("Downloads sas needs a Blob store", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_ParallelReads_AreBoundedAndReachTheSource()
    {
        var blob = new Api.ServerOptions { BlobContainerUrl = "https://account.blob.core.windows.net/c?sv=x&sig=y", TokenFile = "/etc/hostname", ParallelReads = 16 };
        var directory = new Api.ServerOptions { Store = Path.GetTempPath(), TokenFile = "/etc/hostname" };
        var none = new Api.ServerOptions { Store = Path.GetTempPath(), TokenFile = "/etc/hostname", ParallelReads = 0 };
        var many = new Api.ServerOptions { Store = Path.GetTempPath(), TokenFile = "/etc/hostname", ParallelReads = 1000 };

        Assert.Empty(blob.Validate());
        Assert.Equal(16, Assert.IsType<Sources.BlobBundleSource>(blob.OpenSource()).ParallelReads);
        Assert.Equal(Environment.ProcessorCount, Assert.IsType<Sources.DirectoryBundleSource>(directory.OpenSource()).ParallelReads);
        Assert.Contains(none.Validate(), f => f.Contains("ParallelReads must be between 1 and 256 (found 0)", StringComparison.Ordinal));
        Assert.Contains(many.Validate(), f => f.Contains("ParallelReads must be between 1 and 256 (found 1000)", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_SasDownloadsWithAnIdentity_AreSignedWithAUserDelegationKey_ButNeedTheContainersPlainHttpsUrl()
    {
        var identity = new Api.ServerOptions
        {
            BlobContainerUrl = "https://account.blob.core.windows.net/periscope", BlobAuth = "managed-identity", TokenFile = "/etc/hostname", Downloads = "sas",
        };
        var withQuery = new Api.ServerOptions
        {
            BlobContainerUrl = "https://account.blob.core.windows.net/periscope?sv=x&sig=secret", BlobAuth = "managed-identity", TokenFile = "/etc/hostname",
        };
        var unknown = new Api.ServerOptions { BlobContainerUrl = "https://account.blob.core.windows.net/periscope", BlobAuth = "account-key", TokenFile = "/etc/hostname" };

        Assert.Empty(identity.Validate());
        Assert.True(Assert.IsType<Sources.BlobBundleSource>(identity.OpenSource()).CanSign);
        var failure = Assert.Single(withQuery.Validate());
        Assert.Contains("BlobContainerUrl must be the container's URL without a query", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", failure, StringComparison.Ordinal);
        Assert.Contains(unknown.Validate(), f => f.Contains("BlobAuth must be sas, connection-string, workload-identity, managed-identity", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_BlobStoreThatNeverAnswers_Is503WithTheReason_AndKeepsServing()
    {
        // Accepts connections and never answers: a hung storage endpoint.
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<System.Net.Sockets.Socket>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                held.Add(await silent.AcceptSocketAsync());
            }
        });
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("token"), "silent-token");
        await using var factory = new CollectorApiFactory(new Api.ServerOptions
        {
            BlobContainerUrl = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/devstoreaccount1/periscope?sv=2025-01-05&sp=rl&sig=x",
            TokenFile = temp.Combine("token"),
            BlobTimeout = TimeSpan.FromSeconds(1),
        });
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "silent-token");

        using var runs = await client.GetAsync("/api/runs");
        using var signIn = await client.GetAsync("/signin");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, runs.StatusCode);
        Assert.Contains("The store could not be listed", await runs.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode); // still serving
        silent.Stop();
        held.ForEach(s => s.Dispose());
    }
}
