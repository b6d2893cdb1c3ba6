using Azure.Storage.Blobs;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The native agent uploading with an Azure identity instead of a key or SAS: Azurite over TLS with OAuth, tokens from
/// the fake Entra ID (managed identity through the App Service endpoint variables, workload identity through the
/// federated token exchange). The agent trusts the test CA through SSL_CERT_FILE, as a pod trusts its image's CAs.
/// </summary>
public sealed class IdentityUploadTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private IdentityStore _store = null!;
    private string _binary = null!;

    public async ValueTask InitializeAsync()
    {
        var binary = Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        _binary = binary!;
        _store = await IdentityStore.StartAsync("identity-");
    }

    public async ValueTask DisposeAsync()
    {
        await (_store?.DisposeAsync() ?? ValueTask.CompletedTask);
        _temp.Dispose();
    }

    private Dictionary<string, string> Common(string auth) => new()
    {
        ["SSL_CERT_FILE"] = _store.AuthorityPem,
        ["Periscope__Sinks__Blob__Auth"] = auth,
        ["Periscope__Sinks__Blob__ContainerUrl"] = _store.ContainerUrl,
        ["Periscope__Spool__UploadAttempts"] = "1",
    };

    private async Task<(int Exit, string Stdout, string Stderr)> CollectAsync(string runId, Dictionary<string, string> environment)
    {
        var info = new System.Diagnostics.ProcessStartInfo(_binary, ["collect", "--host-root", Fixtures.Node("healthy"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", _temp.Combine("spool"), "--run-id", runId])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Collect_ManagedIdentity_UploadsWithATokenForTheUserAssignedIdentity()
    {
        var environment = Common("managed-identity");
        environment["Periscope__Sinks__Blob__ClientId"] = "5e1d7c3a-0000-4000-8000-00000000beef";
        environment["IDENTITY_ENDPOINT"] = new Uri(_store.Entra.BaseAddress, "/msi/token").ToString();
        environment["IDENTITY_HEADER"] = FakeEntraId.IdentityHeader;

        var (exit, _, stderr) = await CollectAsync("mi-run", environment);

        Assert.True(exit == 0, stderr);
        Assert.True(await _store.Container.GetBlobClient("mi-run/healthy.zip").ExistsAsync());
        Assert.True(await _store.Container.GetBlobClient("mi-run/healthy.status.json").ExistsAsync());
        Assert.Contains(_store.Entra.Requests, r => r.StartsWith("msi resource=https://storage.azure.com", StringComparison.Ordinal)
                                              && r.EndsWith("client_id=5e1d7c3a-0000-4000-8000-00000000beef", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Collect_WorkloadIdentity_ExchangesTheFederatedTokenAndUploads()
    {
        var tokenFile = _temp.Combine("azure-identity-token");
        await File.WriteAllTextAsync(tokenFile, _store.Entra.ExpectedAssertion);
        var environment = Common("workload-identity");
        environment["AZURE_CLIENT_ID"] = "9b2c4d6e-0000-4000-8000-0000000000aa";
        environment["AZURE_TENANT_ID"] = FakeEntraId.TenantId;
        environment["AZURE_FEDERATED_TOKEN_FILE"] = tokenFile;
        environment["AZURE_AUTHORITY_HOST"] = _store.Entra.BaseAddress.ToString();

        var (exit, _, stderr) = await CollectAsync("wi-run", environment);

        Assert.True(exit == 0, stderr + string.Join("\n", _store.Entra.Requests));
        Assert.True(await _store.Container.GetBlobClient("wi-run/healthy.status.json").ExistsAsync());
        Assert.Contains(_store.Entra.Requests, r => r.Contains($"token tenant={FakeEntraId.TenantId} client_id=9b2c4d6e-0000-4000-8000-0000000000aa grant_type=client_credentials", StringComparison.Ordinal)
                                              && r.EndsWith("assertion_ok=True", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Collect_WorkloadIdentityRefused_IsAClearErrorAndTheBundleStays()
    {
        var tokenFile = _temp.Combine("azure-identity-token");
        await File.WriteAllTextAsync(tokenFile, "a-token-no-federation-trusts");
        var environment = Common("workload-identity");
        environment["AZURE_CLIENT_ID"] = "9b2c4d6e-0000-4000-8000-0000000000aa";
        environment["AZURE_TENANT_ID"] = FakeEntraId.TenantId;
        environment["AZURE_FEDERATED_TOKEN_FILE"] = tokenFile;
        environment["AZURE_AUTHORITY_HOST"] = _store.Entra.BaseAddress.ToString();

        var (exit, _, stderr) = await CollectAsync("wi-refused", environment);

        Assert.Equal(3, exit);
        Assert.Contains("workload-identity credential could not get a token", stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_temp.Combine("spool"), "wi-refused", "healthy.zip")));
        Assert.False(await _store.Container.GetBlobClient("wi-refused/healthy.zip").ExistsAsync());
    }

    [Fact]
    public async Task Collect_WorkloadIdentityWithoutTheWebhooksVariables_StopsAtStartNamingEach()
    {
        var (exit, _, stderr) = await CollectAsync("wi-unset", Common("workload-identity"));

        Assert.Equal(3, exit);
        Assert.Contains("AZURE_CLIENT_ID", stderr, StringComparison.Ordinal);
        Assert.Contains("AZURE_TENANT_ID", stderr, StringComparison.Ordinal);
        Assert.Contains("AZURE_FEDERATED_TOKEN_FILE", stderr, StringComparison.Ordinal);
    }
}
