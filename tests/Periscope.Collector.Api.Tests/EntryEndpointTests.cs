using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Mvc.Testing;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Api.Tests;

/// <summary><c>GET /api/runs/{run}/nodes/{node}/entries/{entry}</c>: one entry of a bundle, the lines around an evidence line.</summary>
public sealed class EntryEndpointTests : IAsyncLifetime
{
    private const string Token = "entry-reader-token";
    private readonly TempDirectory _temp = new();
    private CollectorApiFactory _factory = null!;
    private string _bundle = null!;

    private string Store => _temp.Combine("store");

    public async ValueTask InitializeAsync()
    {
        File.WriteAllText(_temp.Combine("token"), Token);
        var log = string.Concat(Enumerable.Range(1, 100).Select(i => $"record {i}\n"));
        _bundle = await TestBundles.WriteAsync(Store, "run-1", "n1", [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom")], evidence: Encoding.UTF8.GetBytes(log));
        _factory = new CollectorApiFactory(new Api.ServerOptions { Store = Store, TokenFile = _temp.Combine("token") });
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Line_ServesTheNumberedLinesAroundIt()
    {
        var text = await Client(Token).GetStringAsync("/api/runs/run-1/nodes/n1/entries/kernel/kmsg.log?line=50&context=2", TestContext.Current.CancellationToken);

        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("# run-1/n1 kernel/kmsg.log, lines 48–52 around 50", lines[0]);
        Assert.Equal(["      48  record 48", "      49  record 49", ">     50  record 50", "      51  record 51", "      52  record 52"], lines[1..]);
    }

    [Fact]
    public async Task WholeEntry_IsPlainTextNeverSniffed()
    {
        using var response = await Client(Token).GetAsync("/api/runs/run-1/nodes/n1/entries/kernel/kmsg.log", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.StartsWith("record 1\nrecord 2\n", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_IsRefused()
    {
        using var response = await Client().GetAsync("/api/runs/run-1/nodes/n1/entries/kernel/kmsg.log?line=1", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/runs/run-1/nodes/n1/entries/kernel/missing.log")]
    [InlineData("/api/runs/run-1/nodes/n1/entries/kernel/..%2F..%2Ftoken")]
    [InlineData("/api/runs/run-1/nodes/n1/entries/%2Fetc%2Fpasswd")]
    [InlineData("/api/runs/run-1/nodes/nobody/entries/kernel/kmsg.log")]
    [InlineData("/api/runs/run-1/nodes/n1/entries/kernel/kmsg.log?line=101")]
    public async Task UnknownEntryNodeOrLine_IsNotFound(string path)
    {
        using var response = await Client(Token).GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task EntryThatDoesNotMatchItsManifest_IsRefusedAsCorrupt()
    {
        TestBundles.ReplaceEntry(_bundle, "kernel/kmsg.log", Encoding.UTF8.GetBytes("forged\n"));

        using var response = await Client(Token).GetAsync("/api/runs/run-1/nodes/n1/entries/kernel/kmsg.log?line=1", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("corrupt", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    private HttpClient Client(string? bearer = null)
    {
        var client = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }
}
