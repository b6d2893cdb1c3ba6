using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The collector reading a Blob store with an Azure identity instead of a key or SAS — <c>report</c>, <c>verify</c> and
/// <c>serve</c> — against Azurite over TLS with OAuth and the fake Entra ID. The collector runs as its own process so
/// that it trusts the test CA through SSL_CERT_FILE and sees the workload identity variables as a pod would.
/// </summary>
public sealed class IdentitySourceTests : IAsyncLifetime
{
    private const string ClientId = "3f6a8b0c-0000-4000-8000-0000000000cc";
    private readonly TempDirectory _temp = new();
    private IdentityStore _identity = null!;
    private string _store = null!;
    private string _tokenFile = null!;

    public async ValueTask InitializeAsync()
    {
        _identity = await IdentityStore.StartAsync("source-");

        _store = _temp.Combine("store");
        await TestBundles.WriteAsync(_store, "id-run", "n1", [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom")], pool: "p");
        await TestBundles.WriteAsync(_store, "id-run", "n2", pool: "p");
        await TestBundles.WriteAsync(_store, "id-run", "n3", withStatus: false, pool: "p");
        foreach (var file in Directory.EnumerateFiles(_store, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            await _identity.Container.GetBlobClient(Path.GetRelativePath(_store, file)).UploadAsync(file);
        }

        _tokenFile = _temp.Combine("azure-identity-token");
        await File.WriteAllTextAsync(_tokenFile, _identity.Entra.ExpectedAssertion);
    }

    public async ValueTask DisposeAsync()
    {
        await (_identity?.DisposeAsync() ?? ValueTask.CompletedTask);
        _temp.Dispose();
    }


    /// <summary>The variables the AKS workload identity webhook injects into a pod, pointing at the fakes.</summary>
    private Dictionary<string, string?> WorkloadIdentity() => new()
    {
        ["SSL_CERT_FILE"] = _identity.AuthorityPem,
        ["AZURE_CLIENT_ID"] = ClientId,
        ["AZURE_TENANT_ID"] = FakeEntraId.TenantId,
        ["AZURE_FEDERATED_TOKEN_FILE"] = _tokenFile,
        ["AZURE_AUTHORITY_HOST"] = _identity.Entra.BaseAddress.ToString(),
    };

    private static ProcessStartInfo Collector(Dictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "periscope-collector"), args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var name in new[] { "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "KUBERNETES_SERVICE_HOST" })
        {
            info.Environment.Remove(name);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return info;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(Dictionary<string, string?> environment, params string[] args)
    {
        using var process = Process.Start(Collector(environment, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the collector did not finish within 90 s: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Report_AzureCli_ReadsTheStoreWithTheEngineersOwnSignIn_AndSaysWhenThereIsNone()
    {
        // A FAKE Azure CLI (no real one can sign in here): `az account get-access-token` as Azure.Identity's
        // AzureCliCredential calls it, answering the fake Entra ID's token for the resource it is asked for; it
        // records its arguments. A second one that is not signed in answers as the real CLI does.
        var bin = Directory.CreateDirectory(_temp.Combine("az-bin")).FullName;
        var calls = _temp.Combine("az-calls");
        var token = FakeEntraId.Jwt("https://storage.azure.com");
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        await File.WriteAllTextAsync(Path.Combine(bin, "az"), $$"""
            #!/bin/sh
            echo "$@" >> '{{calls}}'
            echo '{"accessToken": "{{token}}", "expiresOn": "{{expires.LocalDateTime:yyyy-MM-dd HH:mm:ss.ffffff}}", "expires_on": {{expires.ToUnixTimeSeconds()}}, "subscription": "00000000-0000-0000-0000-000000000000", "tenant": "{{FakeEntraId.TenantId}}", "tokenType": "Bearer"}'
            """);
        File.SetUnixFileMode(Path.Combine(bin, "az"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var signedOut = Directory.CreateDirectory(_temp.Combine("az-signed-out")).FullName;
        await File.WriteAllTextAsync(Path.Combine(signedOut, "az"), "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n");
        File.SetUnixFileMode(Path.Combine(signedOut, "az"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Dictionary<string, string?> Cli(string folder) => new() { ["SSL_CERT_FILE"] = _identity.AuthorityPem, ["PATH"] = $"{folder}:/usr/bin:/bin" };

        var (exit, json, errors) = await RunAsync(Cli(bin), "report", "--blob-container-url", _identity.ContainerUrl, "--blob-auth", "azure-cli",
            "--format", "json", "--expected-nodes", "previous-run");
        var (outExit, _, outErrors) = await RunAsync(Cli(signedOut), "report", "--blob-container-url", _identity.ContainerUrl, "--blob-auth", "azure-cli",
            "--format", "json", "--expected-nodes", "previous-run");

        Assert.True(exit == 2, errors); // n1's OOM kill, read through the CLI's token
        Assert.Equal("id-run", (string?)JsonNode.Parse(json)!["runId"]);
        Assert.Contains("account get-access-token", await File.ReadAllTextAsync(calls, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Contains("https://storage.azure.com", await File.ReadAllTextAsync(calls, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(3, outExit);
        Assert.Contains("az login", outErrors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportAndVerify_WorkloadIdentity_ReadTheStoreWithTheFederatedTokenAsFromTheDirectory()
    {
        var (exit, json, errors) = await RunAsync(WorkloadIdentity(), "report", "--blob-container-url", _identity.ContainerUrl, "--blob-auth", "workload-identity",
            "--format", "json", "--expected-nodes", "previous-run");
        var (dirExit, dirJson, _) = await CliRunner.CollectorAsync("report", "--store", _store, "--format", "json", "--expected-nodes", "previous-run");
        var (verifyExit, verifyOut, verifyErrors) = await RunAsync(WorkloadIdentity(), "verify", "--blob-container-url", _identity.ContainerUrl, "--blob-auth", "workload-identity", "--run-id", "id-run");

        Assert.True(exit == dirExit, errors + string.Join("\n", _identity.Entra.Requests));
        var blob = JsonNode.Parse(json)!.AsObject();
        var directory = JsonNode.Parse(dirJson)!.AsObject();
        blob.Remove("generatedAt");
        directory.Remove("generatedAt");
        Assert.Equal(directory.ToJsonString(), blob.ToJsonString());
        Assert.Equal("critical", blob["status"]!.GetValue<string>());
        Assert.True(verifyExit == 1, verifyErrors + verifyOut); // n3 has no status record: incomplete
        Assert.Contains("2 of 3 bundles of run id-run intact", verifyOut, StringComparison.Ordinal);
        Assert.Contains(_identity.Entra.Requests, r => r.Contains($"token tenant={FakeEntraId.TenantId} client_id={ClientId} grant_type=client_credentials", StringComparison.Ordinal)
                                              && r.Contains("scope=https://storage.azure.com/.default", StringComparison.Ordinal)
                                              && r.EndsWith("assertion_ok=True", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Report_ManagedIdentity_AsksForTheUserAssignedIdentitysToken()
    {
        var environment = new Dictionary<string, string?>
        {
            ["SSL_CERT_FILE"] = _identity.AuthorityPem,
            ["IDENTITY_ENDPOINT"] = new Uri(_identity.Entra.BaseAddress, "/msi/token").ToString(),
            ["IDENTITY_HEADER"] = FakeEntraId.IdentityHeader,
        };

        var (exit, markdown, errors) = await RunAsync(environment, "report", "--blob-container-url", _identity.ContainerUrl, "--blob-auth", "managed-identity",
            "--blob-client-id", ClientId, "--expected-nodes", "previous-run");

        Assert.True(exit == 2, errors); // critical: n1's OOM kill
        Assert.Contains("KERNEL_OOM_KILL", markdown, StringComparison.Ordinal);
        Assert.Contains(_identity.Entra.Requests, r => r == $"msi resource=https://storage.azure.com client_id={ClientId}");
    }

    [Fact]
    public async Task Report_FederationRefused_IsAClearErrorWithinSeconds()
    {
        await File.WriteAllTextAsync(_tokenFile, "a-token-no-federation-trusts");

        var (exit, stdout, errors) = await RunAsync(WorkloadIdentity(), "report", "--blob-container-url", _identity.ContainerUrl, "--blob-auth", "workload-identity", "--format", "json");

        Assert.Equal(3, exit);
        Assert.Contains("The identity could not get a token to read the Blob container", errors, StringComparison.Ordinal);
        Assert.Contains("AADSTS700211", errors, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout.Trim());
    }

    [Fact]
    public async Task Report_WorkloadIdentityWithoutTheWebhooksVariables_NamesEachAndTheLabel()
    {
        var (exit, _, errors) = await RunAsync(new Dictionary<string, string?>(), "report", "--blob-container-url", _identity.ContainerUrl, "--blob-auth", "workload-identity");
        var (queryExit, _, queryErrors) = await CliRunner.CollectorAsync("report", "--blob-container-url", _identity.ContainerUrl + "?sv=2025-01-05&sig=x", "--blob-auth", "managed-identity");
        var (plainExit, _, plainErrors) = await CliRunner.CollectorAsync("report", "--blob-container-url", _identity.ContainerUrl);
        var (httpExit, _, httpErrors) = await CliRunner.CollectorAsync("report", "--blob-container-url", $"http://127.0.0.1:{_identity.Azurite.Port}/devstoreaccount1/c", "--blob-auth", "managed-identity");

        Assert.Equal(3, exit);
        Assert.Contains("AZURE_TENANT_ID", errors, StringComparison.Ordinal);
        Assert.Contains("AZURE_FEDERATED_TOKEN_FILE", errors, StringComparison.Ordinal);
        Assert.Contains("azure.workload.identity/use=true", errors, StringComparison.Ordinal);
        Assert.Equal(3, queryExit);
        Assert.Contains("without a query", queryErrors, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=x", queryErrors, StringComparison.Ordinal);
        Assert.Equal(3, plainExit);
        Assert.Contains("carries no SAS", plainErrors, StringComparison.Ordinal);
        Assert.Equal(3, httpExit);
        Assert.Contains("must be https", httpErrors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WorkloadIdentityWithSasDownloads_RedirectsToAUserDelegationSasOfThatBlobOnly()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await File.WriteAllTextAsync(_temp.Combine("operator-token"), "identity-serve-token");
        var environment = WorkloadIdentity();
        environment["Periscope__Server__Downloads"] = "sas";
        environment["Periscope__Server__ExpectedNodes"] = "previous-run";
        using var process = Process.Start(Collector(environment, "serve", "--blob-container-url", _identity.ContainerUrl, "--blob-auth", "workload-identity",
            "--token-file", _temp.Combine("operator-token"), "--listen", $"127.0.0.1:{port}"))!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync(); // drained, so the service never blocks on a full pipe
        try
        {
            using var http = new HttpClient(new HttpClientHandler
            {
                AllowAutoRedirect = false,
                ServerCertificateCustomValidationCallback = (_, certificate, _, _) => _identity.Tls.Trusts(certificate),
            }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            await WaitHealthyAsync(http, process, errors);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "identity-serve-token");

            using var report = await http.GetAsync(new Uri("/api/runs/id-run/report", UriKind.Relative));
            using var redirect = await http.GetAsync(new Uri("/api/runs/id-run/nodes/n1/bundle", UriKind.Relative));
            using var second = await http.GetAsync(new Uri("/api/runs/id-run/nodes/n2/bundle", UriKind.Relative));
            var location = redirect.Headers.Location!;
            var query = System.Web.HttpUtility.ParseQueryString(location.Query);
            http.DefaultRequestHeaders.Authorization = null;
            using var download = await http.GetAsync(location);
            using var otherBlob = await http.GetAsync(new Uri(location.GetLeftPart(UriPartial.Path).Replace("/n1.zip", "/n2.zip", StringComparison.Ordinal) + location.Query));
            using var upload = new HttpRequestMessage(HttpMethod.Put, location) { Content = new ByteArrayContent([1, 2, 3]) };
            upload.Headers.Add("x-ms-blob-type", "BlockBlob");
            using var write = await http.SendAsync(upload);

            Assert.True(report.IsSuccessStatusCode, await report.Content.ReadAsStringAsync() + await DrainAsync(process, errors));
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            Assert.Equal(HttpStatusCode.Redirect, second.StatusCode);
            Assert.EndsWith($"/{_identity.Container.Name}/id-run/n1.zip", location.AbsolutePath, StringComparison.Ordinal);
            Assert.Equal(("r", "b"), (query["sp"], query["sr"]));
            Assert.Equal(FakeEntraId.TenantId, query["sktid"]); // signed by the identity's user delegation key, not an account key
            Assert.False(string.IsNullOrEmpty(query["skoid"]));
            Assert.True(download.StatusCode == HttpStatusCode.OK, $"{download.StatusCode} for {location}: {await download.Content.ReadAsStringAsync()}");
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_store, "id-run", "n1.zip")), await download.Content.ReadAsByteArrayAsync());
            Assert.Equal(HttpStatusCode.Forbidden, otherBlob.StatusCode); // that blob only
            Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode); // read only
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            _ = await output;
        }
    }

    private static async Task WaitHealthyAsync(HttpClient http, Process process, Task<string> errors)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                Assert.Fail($"serve exited with {process.ExitCode}: {await errors}");
            }

            try
            {
                using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
                if (health.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(100);
        }

        Assert.Fail("serve did not answer /healthz within 60 s");
    }

    private static async Task<string> DrainAsync(Process process, Task<string> errors)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        return await errors;
    }
}
