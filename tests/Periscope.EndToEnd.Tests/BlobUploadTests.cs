using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using Microsoft.Extensions.DependencyInjection;
using Periscope.Agent.Export;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

[CollectionDefinition(Name)]
public sealed class AzuriteTests : ICollectionFixture<Azurite>
{
    public const string Name = "azurite";
}

/// <summary><c>collect</c> with a Blob sink, against a real Azurite: the store layout, SAS and key failures.</summary>
[Collection(AzuriteTests.Name)]
public sealed class BlobUploadTests(Azurite azurite)
{
    [Fact]
    public async Task Collect_WithConnectionString_UploadsTheBundleThenItsStatusRecord()
    {
        azurite.Require();
        var container = await CreateContainerAsync();
        using var store = new TempDirectory();

        var (exit, output, stderr) = await CollectAsync(store.Path, "up-1", o =>
        {
            o.Auth = "connection-string";
            o.ConnectionString = azurite.ConnectionString;
            o.Container = container.Name;
            o.BlockSizeBytes = 64 * 1024; // several blocks even for a small bundle
        });

        Assert.True(exit == 2, stderr);
        var upload = output.GetProperty("upload");
        Assert.True(upload.GetProperty("succeeded").GetBoolean(), upload.ToString());
        var local = output.GetProperty("bundle").GetString()!;
        var zip = (await container.GetBlobClient("up-1/fault-node.zip").DownloadContentAsync()).Value.Content.ToArray();
        var statusBytes = (await container.GetBlobClient("up-1/fault-node.status.json").DownloadContentAsync()).Value.Content.ToArray();
        var status = JsonSerializer.Deserialize(statusBytes, BundleJsonContext.Default.StatusRecord)!;
        Assert.Equal(await File.ReadAllBytesAsync(local), zip);
        Assert.Equal(status.Sha256, Convert.ToHexStringLower(SHA256.HashData(zip)));
        Assert.Equal(("up-1", "fault-node"), (status.RunId, status.Node));
        var marker = System.Text.Json.JsonSerializer.Deserialize((await container.GetBlobClient("up-1/fault-node.started").DownloadContentAsync()).Value.Content.ToArray(), BundleJsonContext.Default.StartedMarker)!;
        Assert.Equal(("up-1", "fault-node", status.StartedAt), (marker.RunId, marker.Node, marker.StartedAt)); // the watchers' "started"
        var metadata = (await container.GetBlobClient("up-1/fault-node.status.json").GetPropertiesAsync()).Value.Metadata;
        Assert.Equal(UtcTimestampConverter.Format(status.StartedAt), metadata[StoreLayout.StartedAtMetadata]); // runs ordered from a listing
        Assert.Equal(statusBytes, Convert.FromBase64String(metadata[StoreLayout.StatusRecordMetadata])); // runs read from a listing
        Assert.Equal($"{azurite.ServiceUri}/{container.Name}/up-1/fault-node.zip", upload.GetProperty("location").GetString());

        // The status record is never overwritten: the same run again is refused, and its local bundle kept.
        using var again = new TempDirectory();
        var (secondExit, secondOutput, secondError) = await CollectAsync(again.Path, "up-1", o =>
        {
            o.Auth = "connection-string";
            o.ConnectionString = azurite.ConnectionString;
            o.Container = container.Name;
        });
        Assert.Equal(3, secondExit);
        Assert.Contains("never uploads the same run twice", secondError, StringComparison.Ordinal);
        Assert.True(File.Exists(secondOutput.GetProperty("bundle").GetString()));
        Assert.Equal(zip, (await container.GetBlobClient("up-1/fault-node.zip").DownloadContentAsync()).Value.Content.ToArray()); // not replaced
    }

    [Fact]
    public async Task Collect_WithCreateWriteSas_UploadsAndAReadOnlySasIsRefused()
    {
        azurite.Require();
        var container = await CreateContainerAsync();
        using var store = new TempDirectory();
        var writeOnly = Path.Combine(store.Path, "write.sas");
        var readOnly = Path.Combine(store.Path, "read.sas");
        await File.WriteAllTextAsync(writeOnly, container.GenerateSasUri(BlobContainerSasPermissions.Create | BlobContainerSasPermissions.Write, DateTimeOffset.UtcNow.AddHours(1)) + "\n");
        await File.WriteAllTextAsync(readOnly, container.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1)).ToString());

        var (exit, output, stderr) = await CollectAsync(Path.Combine(store.Path, "a"), "sas-1", o => { o.Auth = "sas"; o.SasUrlFile = writeOnly; });
        var (refused, refusedOutput, refusedError) = await CollectAsync(Path.Combine(store.Path, "b"), "sas-2", o => { o.Auth = "sas"; o.SasUrlFile = readOnly; });

        Assert.True(exit == 2, stderr);
        Assert.True(output.GetProperty("upload").GetProperty("succeeded").GetBoolean());
        Assert.DoesNotContain("sig=", output.ToString(), StringComparison.Ordinal); // the location never carries the SAS
        Assert.True(await container.GetBlobClient("sas-1/fault-node.status.json").ExistsAsync());
        Assert.Equal(3, refused);
        Assert.True(refusedError.Contains("create and write", StringComparison.Ordinal) || refusedError.Contains("create or write", StringComparison.Ordinal), refusedError);
        Assert.True(File.Exists(refusedOutput.GetProperty("bundle").GetString())); // kept locally
        Assert.False(await container.GetBlobClient("sas-2/fault-node.zip").ExistsAsync());
    }

    [Fact]
    public async Task Collect_WithAWrongKey_IsAClearErrorAndTheBundleStays()
    {
        azurite.Require();
        var container = await CreateContainerAsync();
        using var store = new TempDirectory();
        var wrong = azurite.ConnectionString.Replace(Azurite.Key, Convert.ToBase64String(new byte[64]), StringComparison.Ordinal);
        var secret = Path.Combine(store.Path, "connection");
        await File.WriteAllTextAsync(secret, wrong);

        var (exit, output, stderr) = await CollectAsync(Path.Combine(store.Path, "s"), "key-1", o =>
        {
            o.Auth = "connection-string";
            o.ConnectionStringFile = secret;
            o.Container = container.Name;
        });

        Assert.Equal(3, exit);
        Assert.True(stderr.Contains("refused the credential", StringComparison.Ordinal), stderr); // Azure says AuthenticationFailed, Azurite AuthorizationFailure
        Assert.DoesNotContain(Convert.ToBase64String(new byte[64]), stderr + output, StringComparison.Ordinal);
        Assert.True(File.Exists(output.GetProperty("bundle").GetString()));
        Assert.False(output.GetProperty("upload").GetProperty("succeeded").GetBoolean());
    }

    [Fact]
    public async Task NativeAgent_ConfiguredFromTheEnvironment_UploadsToBlobStorage()
    {
        azurite.Require();
        var binary = Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        var container = await CreateContainerAsync();
        using var store = new TempDirectory();
        var secret = Path.Combine(store.Path, "connection-string");
        await File.WriteAllTextAsync(secret, azurite.ConnectionString);
        var info = new System.Diagnostics.ProcessStartInfo(binary!, ["collect", "--host-root", Fixtures.Node("healthy"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", Path.Combine(store.Path, "out"), "--run-id", "native-up", "--json"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["Periscope__Sinks__Blob__Auth"] = "connection-string";
        info.Environment["Periscope__Sinks__Blob__ConnectionStringFile"] = secret;
        info.Environment["Periscope__Sinks__Blob__Container"] = container.Name;

        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, stderr);
        Assert.True(JsonDocument.Parse(stdout).RootElement.GetProperty("upload").GetProperty("succeeded").GetBoolean());
        Assert.True(await container.GetBlobClient("native-up/healthy.status.json").ExistsAsync());
        Assert.True(await container.GetBlobClient("native-up/healthy.zip").ExistsAsync());

        // The status record's blob carries the record and the bundle's report digest, as the native build writes them.
        var metadata = (await container.GetBlobClient("native-up/healthy.status.json").GetPropertiesAsync()).Value.Metadata;
        Assert.True(metadata.ContainsKey(StoreLayout.StatusRecordMetadata));
        var digest = ReportDigest.TryDecode(metadata[StoreLayout.ReportDigestMetadata]);
        Assert.NotNull(digest);
        Assert.Equal("healthy", digest!.Manifest.Node.Name);
        Assert.Equal("native-up", digest.Manifest.RunId);
        Assert.All(digest.Manifest.Collectors, c => Assert.Empty(c.Files));
        Assert.NotNull(digest.Facts.System);
    }

    [Theory]
    [InlineData("guess", "must be connection-string, sas, workload-identity or managed-identity")]
    [InlineData("sas", "SasUrlFile is not set")]
    [InlineData("connection-string", "neither ConnectionStringFile nor ConnectionString")]
    public async Task Collect_WithIncompleteBlobSettings_StopsAtStartWithEveryProblem(string auth, string expected)
    {
        using var store = new TempDirectory();
        var stderr = new StringWriter();

        var exit = await Periscope.Agent.Cli.AgentCli.RunAsync(["collect", "--host-root", Fixtures.Node("healthy"), "--offline", "--out", store.Path],
            new StringWriter(), stderr, services => services.Configure<BlobSinkOptions>(o => o.Auth = auth));

        Assert.Equal(3, exit);
        Assert.Contains(expected, stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_AfterAFailedUpload_SendsThePendingBundleWithItsOwn()
    {
        azurite.Require();
        var container = await CreateContainerAsync();
        using var store = new TempDirectory();
        var wrong = azurite.ConnectionString.Replace(Azurite.Key, Convert.ToBase64String(new byte[64]), StringComparison.Ordinal);

        var (failed, failedOutput, _) = await CollectAsync(store.Path, "spool-1", o => Sink(o, wrong, container.Name));
        var (exit, output, stderr) = await CollectAsync(store.Path, "spool-2", o => Sink(o, azurite.ConnectionString, container.Name));

        Assert.Equal(3, failed);
        Assert.Equal(1, failedOutput.GetProperty("spool").GetProperty("pending").GetInt32());
        Assert.True(exit == 2, stderr);
        var spool = output.GetProperty("spool");
        Assert.Equal((2, 0, 0), (spool.GetProperty("uploaded").GetInt32(), spool.GetProperty("pending").GetInt32(), spool.GetProperty("evicted").GetInt32()));
        foreach (var run in new[] { "spool-1", "spool-2" })
        {
            var local = await File.ReadAllBytesAsync(Path.Combine(store.Path, run, "fault-node.zip"));
            Assert.Equal(local, (await container.GetBlobClient($"{run}/fault-node.zip").DownloadContentAsync()).Value.Content.ToArray());
            Assert.True(File.Exists(Path.Combine(store.Path, run, ".fault-node.uploaded")));
        }
    }

    [Fact]
    public async Task Collect_BundlePastRetention_IsEvictedUploadedOrNot()
    {
        azurite.Require();
        using var store = new TempDirectory();
        var missing = "absent-" + Guid.NewGuid().ToString("N")[..8]; // uploads fail: the bundle stays pending
        var (_, old, _) = await CollectAsync(store.Path, "old-1", o => Sink(o, azurite.ConnectionString, missing));
        var eightDaysAgo = DateTime.UtcNow.AddDays(-8);
        File.SetLastWriteTimeUtc(old.GetProperty("statusRecord").GetString()!, eightDaysAgo);
        File.SetLastWriteTimeUtc(old.GetProperty("bundle").GetString()!, eightDaysAgo);

        var (exit, output, stderr) = await CollectAsync(store.Path, "new-1", o => Sink(o, azurite.ConnectionString, missing));

        Assert.True(exit == 3, stderr);
        var spool = output.GetProperty("spool");
        Assert.Equal((1, 1), (spool.GetProperty("evicted").GetInt32(), spool.GetProperty("pending").GetInt32()));
        Assert.False(File.Exists(old.GetProperty("bundle").GetString()));
        Assert.False(File.Exists(old.GetProperty("statusRecord").GetString()));
        Assert.True(File.Exists(output.GetProperty("bundle").GetString()));
    }

    [Fact]
    public async Task Run_RestartedWithASealedBundlePending_UploadsItAtStartWithoutATrigger()
    {
        azurite.Require();
        var binary = Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        var container = await CreateContainerAsync();
        using var store = new TempDirectory();
        var spool = Path.Combine(store.Path, "spool");
        var wrong = azurite.ConnectionString.Replace(Azurite.Key, Convert.ToBase64String(new byte[64]), StringComparison.Ordinal);
        var (failed, _, _) = await CollectAsync(spool, "before-restart", o => Sink(o, wrong, container.Name));
        Assert.Equal(3, failed);

        // The credential is fixed (the Secret rotated) and the agent starts again: the pending bundle goes first.
        var secret = Path.Combine(store.Path, "connection-string");
        await File.WriteAllTextAsync(secret, azurite.ConnectionString);
        await using var agent = await AgentProcess.StartAsync(binary!, new Dictionary<string, string>
        {
            ["Periscope__Http__Enabled"] = "false",
            ["Periscope__Triggers__ConfigMap__Source"] = "none",
            ["Periscope__Sinks__Blob__Auth"] = "connection-string",
            ["Periscope__Sinks__Blob__ConnectionStringFile"] = secret,
            ["Periscope__Sinks__Blob__Container"] = container.Name,
        }, "--host-root", Fixtures.Node("fault-node"), "--out", spool, "--node", "fault-node");
        var status = container.GetBlobClient("before-restart/fault-node.status.json");
        for (var i = 0; i < 300 && !await status.ExistsAsync(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(await status.ExistsAsync(), agent.Stderr);
        var local = await File.ReadAllBytesAsync(Path.Combine(spool, "before-restart", "fault-node.zip"));
        Assert.Equal(local, (await container.GetBlobClient("before-restart/fault-node.zip").DownloadContentAsync()).Value.Content.ToArray());
        Assert.Equal(0, await agent.TerminateAsync(TimeSpan.FromSeconds(20)));
        Assert.True(File.Exists(Path.Combine(spool, "before-restart", ".fault-node.uploaded")));
    }

    [Fact]
    public async Task Collect_SpoolOverItsCap_EvictsTheOldestBundleFirst()
    {
        azurite.Require();
        using var store = new TempDirectory();
        var missing = "absent-" + Guid.NewGuid().ToString("N")[..8]; // uploads fail: every bundle stays pending
        var (_, first, _) = await CollectAsync(store.Path, "cap-1", o => Sink(o, azurite.ConnectionString, missing));
        var size = new FileInfo(first.GetProperty("bundle").GetString()!).Length + new FileInfo(first.GetProperty("statusRecord").GetString()!).Length;
        await Task.Delay(50); // distinct times
        await CollectAsync(store.Path, "cap-2", o => Sink(o, azurite.ConnectionString, missing));
        await Task.Delay(50);

        var stderr = new StringWriter();
        var stdout = new StringWriter();
        var exit = await Periscope.Agent.Cli.AgentCli.RunAsync(
            ["collect", "--host-root", Fixtures.Node("fault-node"), "--offline", CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "cap-3", "--json"],
            stdout, stderr, services =>
            {
                services.Configure<BlobSinkOptions>(o => Sink(o, azurite.ConnectionString, missing));
                services.Configure<SpoolOptions>(o => o.MaxBytes = (long)(size * 2.5));
            });

        Assert.Equal(3, exit);
        Assert.Contains("does not exist", stderr.ToString(), StringComparison.Ordinal);
        var spool = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("spool");
        Assert.Equal((1, 2), (spool.GetProperty("evicted").GetInt32(), spool.GetProperty("pending").GetInt32()));
        Assert.False(File.Exists(Path.Combine(store.Path, "cap-1", "fault-node.zip")));
        Assert.False(File.Exists(Path.Combine(store.Path, "cap-1", "fault-node.status.json")));
        Assert.True(File.Exists(Path.Combine(store.Path, "cap-2", "fault-node.zip")));
        Assert.True(File.Exists(Path.Combine(store.Path, "cap-3", "fault-node.zip")));
    }

    [Fact]
    public async Task Collect_StorageKilledMidUpload_BundleArrivesIntactOnTheNextPass()
    {
        azurite.Require();
        var container = await CreateContainerAsync();
        using var store = new TempDirectory();
        var random = new Random(5);
        var noise = string.Concat(Enumerable.Range(0, 80_000).Select(_ => $"I1120 10:00:00.000000 1 x.go:1] \"noise\" value=\"{random.NextInt64():x16}{random.NextInt64():x16}\"\n"));
        using var root = new NodeRoot()
            .File("/etc/hostname", "big-node\n")
            .File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n")
            .File("/var/log/kubelet.log", noise)
            .Dir("/proc");
        void Options(IServiceCollection services)
        {
            services.Configure<BlobSinkOptions>(o =>
            {
                Sink(o, azurite.ConnectionString, container.Name);
                o.BlockSizeBytes = 64 * 1024;
                o.MaxConcurrency = 1;
                o.Timeout = TimeSpan.FromSeconds(20);
            });
            services.Configure<SpoolOptions>(o => o.UploadAttempts = 1);
        }

        var collect = Periscope.Agent.Cli.AgentCli.RunAsync(
            ["collect", "--host-root", root.Path, "--offline", "--collectors", "kubelet", CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd,
             "--out", store.Path, "--run-id", "crash-1", "--json"], new StringWriter(), new StringWriter(), Options);
        var blob = container.GetBlockBlobClient("crash-1/big-node.zip");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !collect.IsCompleted)
        {
            try
            {
                var blocks = await blob.GetBlockListAsync(Azure.Storage.Blobs.Models.BlockListTypes.Uncommitted);
                if (blocks.Value.UncommittedBlocks.Any())
                {
                    break; // at least one block is in the service
                }
            }
            catch (Azure.RequestFailedException)
            {
                // no block yet
            }

            await Task.Delay(5);
        }

        Assert.False(collect.IsCompleted, "the upload finished before a block could be seen: the bundle is too small for this test");
        await azurite.KillAsync();
        var first = await collect;
        Assert.Equal(3, first);
        Assert.True(File.Exists(Path.Combine(store.Path, "crash-1", "big-node.zip")));

        await azurite.StartAsync();
        await container.CreateIfNotExistsAsync(); // Azurite saves its metadata every few seconds: a kill can lose a new container
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var second = await Periscope.Agent.Cli.AgentCli.RunAsync(
            ["collect", "--host-root", root.Path, "--offline", "--collectors", "kubelet", CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd,
             "--out", store.Path, "--run-id", "crash-2", "--json"], stdout, stderr, Options);

        Assert.True(second != 3, stderr.ToString()); // judged (the node root has no kubelet process), and uploaded
        Assert.Equal(2, JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("spool").GetProperty("uploaded").GetInt32());
        var zip = (await container.GetBlobClient("crash-1/big-node.zip").DownloadContentAsync()).Value.Content.ToArray();
        var status = JsonSerializer.Deserialize((await container.GetBlobClient("crash-1/big-node.status.json").DownloadContentAsync()).Value.Content.ToArray(), BundleJsonContext.Default.StatusRecord)!;
        Assert.True(zip.Length > 4 * 64 * 1024, $"{zip.Length} bytes: several blocks");
        Assert.Equal(status.Sha256, Convert.ToHexStringLower(SHA256.HashData(zip)));
        using var reader = BundleReader.Open(new MemoryStream(zip), "big-node");
        Assert.Empty(reader.VerifyAll()); // intact: every entry matches the manifest
    }

    private static void Sink(BlobSinkOptions o, string connectionString, string container)
    {
        o.Auth = "connection-string";
        o.ConnectionString = connectionString;
        o.Container = container;
    }

    private async Task<BlobContainerClient> CreateContainerAsync()
    {
        var container = new BlobContainerClient(azurite.ConnectionString, "bundles-" + Guid.NewGuid().ToString("N")[..12]);
        await container.CreateAsync();
        return container;
    }

    private static async Task<(int Exit, JsonElement Output, string Stderr)> CollectAsync(string store, string runId, Action<BlobSinkOptions> blob)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await Periscope.Agent.Cli.AgentCli.RunAsync(
            ["collect", "--host-root", Fixtures.Node("fault-node"), "--offline", CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store, "--run-id", runId, "--json"],
            stdout, stderr, services => services.Configure(blob));
        return (exit, JsonDocument.Parse(stdout.ToString()).RootElement.Clone(), stderr.ToString());
    }
}
