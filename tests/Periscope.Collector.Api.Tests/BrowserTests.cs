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
        await page.ClickAsync("a[href='/runs/incident-12']");
        await page.WaitForSelectorAsync("svg.timeline");

        var heading = await page.TextContentAsync("h1");
        var summary = await page.TextContentAsync("body > p");
        var events = await page.Locator("svg.timeline circle").CountAsync();
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("a[href='/api/runs/incident-12/nodes/aks-pool-0001/bundle'] >> nth=0"));
        var saved = _temp.Combine("downloaded.zip");
        await download.SaveAsAsync(saved);

        Assert.Contains("incident-12", heading, StringComparison.Ordinal);
        Assert.Contains("2 nodes: 1 critical", summary, StringComparison.Ordinal);
        Assert.Equal(1, events);
        Assert.Equal(await File.ReadAllBytesAsync(_bundle), await File.ReadAllBytesAsync(saved));
        Assert.NotEmpty(requests);
        Assert.All(requests, url => Assert.StartsWith(_base.ToString(), url, StringComparison.Ordinal));
    }
}
