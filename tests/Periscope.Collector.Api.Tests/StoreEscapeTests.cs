using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Periscope.Collector.Api;
using Periscope.Collector.Sources;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Api.Tests;

/// <summary>
/// <c>serve</c> stays inside its store and never blocks on it: a run folder or bundle that is a symbolic link to
/// outside is neither listed nor served, a FIFO named like a status record does not freeze the poll, and a listing
/// that hangs is abandoned at its deadline while the service keeps answering.
/// </summary>
public sealed class StoreEscapeTests : IAsyncLifetime
{
    private const string Token = "escape-token";
    private readonly TempDirectory _temp = new();

    private string Store => _temp.Combine("store");

    public async ValueTask InitializeAsync()
    {
        await File.WriteAllTextAsync(_temp.Combine("token"), Token);
        await TestBundles.WriteAsync(Store, "run-1", "good");
        // Outside the store: a "secret" and a whole run that is sealed and valid.
        await File.WriteAllTextAsync(_temp.Combine("shadow"), "root:$6$secret-hash:19000:0:99999:7:::\n");
        await TestBundles.WriteAsync(_temp.Combine("elsewhere"), "run-9", "n9");
    }

    public ValueTask DisposeAsync()
    {
        _temp.Dispose();
        return ValueTask.CompletedTask;
    }

    private static HttpClient Client(CollectorApiFactory factory)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    [Fact]
    public async Task Serve_SymlinkedBundleAndRunFolder_AreNotServed()
    {
        var ct = TestContext.Current.CancellationToken;
        await TestBundles.WriteAsync(Store, "run-1", "evil"); // a sealed bundle and its status record,
        File.Delete(Path.Combine(Store, "run-1", "evil.zip")); // then the zip swapped for a link to outside
        File.CreateSymbolicLink(Path.Combine(Store, "run-1", "evil.zip"), _temp.Combine("shadow"));
        Directory.CreateSymbolicLink(Path.Combine(Store, "run-9"), _temp.Combine("elsewhere", "run-9"));
        await using var factory = new CollectorApiFactory(new ServerOptions { Store = Store, TokenFile = _temp.Combine("token") });
        using var client = Client(factory);

        using var evil = await client.GetAsync("/api/runs/run-1/nodes/evil/bundle", ct);
        using var good = await client.GetAsync("/api/runs/run-1/nodes/good/bundle", ct);
        using var linkedRun = await client.GetAsync("/api/runs/run-9/nodes/n9/bundle", ct);
        var runs = await client.GetStringAsync("/api/runs", ct);
        var report = await client.GetStringAsync("/api/runs/run-1/report?format=json", ct);

        Assert.Equal(HttpStatusCode.NotFound, evil.StatusCode);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, linkedRun.StatusCode);
        Assert.DoesNotContain("run-9", runs, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-hash", report, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(report);
        var rejected = document.RootElement.GetProperty("nodes").EnumerateArray()
            .Single(n => n.GetProperty("node").GetString() == "evil").GetProperty("rejected").GetString();
        Assert.Contains("symbolic link", rejected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_FifoNamedLikeAStatusRecord_DoesNotFreezeThePoll()
    {
        var ct = TestContext.Current.CancellationToken;
        await TestBundles.WriteAsync(Store, "run-1", "piped", withStatus: false);
        MakeFifo(Path.Combine(Store, "run-1", "piped.status.json"));
        await using var factory = new CollectorApiFactory(new ServerOptions { Store = Store, TokenFile = _temp.Combine("token") });
        using var client = Client(factory);

        var runs = await client.GetStringAsync("/api/runs", ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        var report = await client.GetStringAsync("/api/runs/run-1/report?format=json", ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        using var download = await client.GetAsync("/api/runs/run-1/nodes/piped/bundle", ct).WaitAsync(TimeSpan.FromSeconds(30), ct);

        Assert.Contains("run-1", runs, StringComparison.Ordinal);
        Assert.Contains("not a regular file", report, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, download.StatusCode);
    }

    [Fact]
    public async Task Serve_ListingThatHangs_IsAbandonedAtItsDeadlineAndTheServiceAnswers()
    {
        var ct = TestContext.Current.CancellationToken;
        using var hang = new ManualResetEventSlim();
        var source = new HangingSource(hang);
        await using var factory = new CollectorApiFactory(
            new ServerOptions { Store = Store, TokenFile = _temp.Combine("token"), ListingTimeout = TimeSpan.FromSeconds(1) },
            services => services.AddSingleton<IBundleSource>(source));
        using var client = Client(factory);
        try
        {
            using var first = await client.GetAsync("/api/runs", ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
            using var second = await client.GetAsync("/api/runs", ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
            var catalog = factory.Services.GetRequiredService<RunCatalog>();
            await catalog.RefreshAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
            Assert.Contains("abandoned", (await catalog.RunsAsync(ct)).Error, StringComparison.Ordinal);
            Assert.Equal(1, source.Listings); // no second listing piles up behind the stuck one
        }
        finally
        {
            hang.Set();
        }
    }

    [Fact]
    public async Task Serve_ManyParallelPageRequests_BuildAndRenderAtMostTheBoundAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < 3; i++)
        {
            await TestBundles.WriteAsync(Store, $"run-{i + 2}", "n1", [TestBundles.Finding("KERNEL_OOM_KILL")]);
        }

        await using var factory = new CollectorApiFactory(new ServerOptions { Store = Store, TokenFile = _temp.Combine("token"), MaxConcurrentReports = 1 });
        using var client = Client(factory);

        var pages = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            client.GetStringAsync($"/api/runs/run-{(i % 3) + 2}/report?format={(i % 2 == 0 ? "html" : "markdown")}", ct)));

        Assert.All(pages, page => Assert.Contains("n1", page, StringComparison.Ordinal));
        Assert.Contains(pages, page => page.StartsWith("<!DOCTYPE html>", StringComparison.Ordinal));
        Assert.Equal(1, factory.Services.GetRequiredService<RunCatalog>().PeakConcurrentWork);
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>A store whose listing blocks its thread until released, as a hung network filesystem does.</summary>
    private sealed class HangingSource(ManualResetEventSlim release) : IBundleSource
    {
        private int _listings;

        public int Listings => Volatile.Read(ref _listings);

        public string Description => "a hanging store";

        public Task<IReadOnlyList<RunSummary>> ListRunsAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _listings);
            release.Wait(CancellationToken.None); // not cancellable, like a read blocked in the kernel
            return Task.FromResult<IReadOnlyList<RunSummary>>([]);
        }

        public Task<IReadOnlyList<string>> ListNodesAsync(string runId, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);

        public Task<IReadOnlyList<NodeBundle>> ReadRunAsync(string runId, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<NodeBundle>>([]);

        public Task<Stream?> OpenBundleAsync(string runId, string node, CancellationToken cancellationToken) => Task.FromResult<Stream?>(null);

        public Task<IReadOnlyList<VerifyResult>> VerifyRunAsync(string runId, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<VerifyResult>>([]);

        public Task<IReadOnlyDictionary<string, Periscope.Collector.Sources.RunProgress>> ProgressAsync(string runId, CancellationToken cancellationToken)
            => Task.FromResult<IReadOnlyDictionary<string, Periscope.Collector.Sources.RunProgress>>(new Dictionary<string, Periscope.Collector.Sources.RunProgress>());
    }
}
