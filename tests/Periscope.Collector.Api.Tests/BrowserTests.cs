using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Api.Tests;

/// <summary>
/// The operator's path in a real browser: Debian's chromium driven by Playwright (never a downloaded browser) against
/// the server on a loopback port — sign in, open a run, see the summary and the SVG timeline, download a bundle — and
/// no request leaves the service.
/// </summary>
public sealed class BrowserTests : IAsyncLifetime
{
    private const string Token = "browser-operator-token";
    private readonly TempDirectory _temp = new();
    private WebApplication _app = null!;
    private Uri _base = null!;
    private string _bundle = null!;

    public async ValueTask InitializeAsync()
    {
        var store = _temp.Combine("store");
        File.WriteAllText(_temp.Combine("token"), Token);
        var started = TestBundles.Start;
        var panic = TestBundles.Finding("KERNEL_PANIC", Severity.Critical, "cpu0") with { FirstSeen = started.AddMinutes(-30), LastSeen = started.AddMinutes(-29) };
        _bundle = await TestBundles.WriteAsync(store, "incident-12", "aks-pool-0001", [panic], pool: "pool");
        await TestBundles.WriteAsync(store, "incident-12", "aks-pool-0002", pool: "pool");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        Api.CollectorServer.ConfigureServices(builder.Services, new Api.ServerOptions { Store = store, TokenFile = _temp.Combine("token") });
        _app = builder.Build();
        Api.CollectorServer.Configure(_app);
        await _app.StartAsync();
        _base = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Operator_SignsInOpensARunAndDownloadsABundle_WithoutAnyRequestOutsideTheService()
    {
        const string chromium = "/usr/bin/chromium";
        Requires.That(File.Exists(chromium), "Debian's chromium is not installed at /usr/bin/chromium (README's test command installs it)");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { AcceptDownloads = true });
        var page = await context.NewPageAsync();
        var requests = new ConcurrentQueue<string>();
        page.Request += (_, request) => requests.Enqueue(request.Url);

        await page.GotoAsync(new Uri(_base, "/runs/incident-12").ToString());
        Assert.EndsWith("/signin", page.Url, StringComparison.Ordinal);
        await page.FillAsync("input[name=token]", Token);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(new Uri(_base, "/").ToString());

        // The runs page: each run's status and node counts, its times as "… ago" with the UTC time on hover.
        var runRow = await page.TextContentAsync("tr:has(a[href='/runs/incident-12'])");
        var started = page.Locator("tr:has(a[href='/runs/incident-12']) time").First;
        Assert.Contains("critical", runRow, StringComparison.Ordinal);
        Assert.Contains("1 critical", runRow, StringComparison.Ordinal);
        Assert.EndsWith(" ago", await started.TextContentAsync(), StringComparison.Ordinal);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$", await started.GetAttributeAsync("title"));

        await page.ClickAsync("a[href='/runs/incident-12']");
        await page.WaitForSelectorAsync("svg.timeline");

        var heading = await page.TextContentAsync("h1");
        var headline = await page.TextContentAsync("p.headline");
        var body = await page.TextContentAsync("body");
        var events = await page.Locator("svg.timeline circle").CountAsync();

        // Every node label of the timeline is drawn whole inside the picture.
        var labelsInside = await page.EvaluateAsync<bool>("() => [...document.querySelectorAll('svg.timeline text[text-anchor=end]')].every(t => t.getBBox().x >= 0)");
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("a[href='/api/runs/incident-12/nodes/aks-pool-0001/bundle'] >> nth=0"));
        var saved = _temp.Combine("downloaded.zip");
        await download.SaveAsAsync(saved);

        Assert.Contains("incident-12", heading, StringComparison.Ordinal);
        Assert.Equal("1 of 2 nodes critical: kernel panic on 1 node of pool pool.", headline);
        Assert.Contains("2 nodes: 1 critical", body, StringComparison.Ordinal);
        Assert.Matches(@"collected \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z", body); // to the second, no fraction
        Assert.DoesNotMatch(@"\d{2}:\d{2}:\d{2}\.\d", body);
        Assert.True(labelsInside, "a timeline label is cut off");
        Assert.Equal(1, events);
        Assert.Equal(await File.ReadAllBytesAsync(_bundle), await File.ReadAllBytesAsync(saved));
        Assert.NotEmpty(requests);
        Assert.All(requests, url => Assert.StartsWith(_base.ToString(), url, StringComparison.Ordinal));

        // A finding's evidence opens the lines it points at, from the bundle, signed in.
        await page.ClickAsync("a[href='/api/runs/incident-12/nodes/aks-pool-0001/entries/kernel/kmsg.log?line=3'] >> nth=0");
        var lines = await page.TextContentAsync("body");
        Assert.Contains(">      3  line three", lines, StringComparison.Ordinal);
        Assert.Contains("      1  line one", lines, StringComparison.Ordinal);
    }
}
