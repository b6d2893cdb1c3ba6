using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Api.Tests;

/// <summary>The collector's API and pages: authentication, sessions, anti-forgery, downloads, path traversal.</summary>
public sealed partial class ApiTests : IAsyncLifetime
{
    private const string Token = "operator-token-7c1e9a";
    private readonly TempDirectory _temp = new();
    private CollectorApiFactory _factory = null!;
    private string _bundle = null!;

    private string Store => _temp.Combine("store");

    public async ValueTask InitializeAsync()
    {
        File.WriteAllText(_temp.Combine("token"), Token + "\n");
        File.WriteAllText(_temp.Combine("secret.txt"), "outside the store");
        _bundle = await TestBundles.WriteAsync(Store, "run-1", "n1", [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical, "oom")]);
        await TestBundles.WriteAsync(Store, "run-1", "n2");
        await TestBundles.WriteAsync(Store, "run-1", "n3", withStatus: false);
        _factory = new CollectorApiFactory(new Api.ServerOptions { Store = Store, TokenFile = _temp.Combine("token") });
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        _temp.Dispose();
    }

    private HttpClient Client(string? bearer = null)
    {
        var client = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    /// <summary>Signs in through the form as a browser does; the client then holds the session cookie.</summary>
    private static async Task<HttpResponseMessage> SignInAsync(HttpClient client, string token)
    {
        var form = await client.GetStringAsync("/signin");
        var csrf = CsrfField().Match(form).Groups[1].Value;
        return await client.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf"] = csrf, ["token"] = token }));
    }

    [Theory]
    [InlineData("/api/runs")]
    [InlineData("/api/runs/run-1/report")]
    [InlineData("/api/runs/run-1/nodes")]
    [InlineData("/api/runs/run-1/nodes/n1/bundle")]
    public async Task Api_Anonymous_Is401(string path)
    {
        using var response = await Client().GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("PK", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_Anonymous_IsOkOnceTheStoreIsListedAndSaysNothingOfTheRuns()
    {
        using var response = await Client().GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Api_WrongBearer_Is401WithAChallenge()
    {
        using var response = await Client("not-the-token").GetAsync("/api/runs/run-1/nodes/n1/bundle");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Page_Anonymous_IsSentToSignIn()
    {
        using var response = await Client().GetAsync("/runs/run-1");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/signin", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_Bearer_ListsRunsNodesAndStreamsTheBundle()
    {
        var client = Client(Token);

        using var runs = JsonDocument.Parse(await client.GetStringAsync("/api/runs"));
        using var nodes = JsonDocument.Parse(await client.GetStringAsync("/api/runs/run-1/nodes"));
        using var download = await client.GetAsync("/api/runs/run-1/nodes/n1/bundle");

        Assert.Equal("run-1", runs.RootElement[0].GetProperty("runId").GetString());
        var health = runs.RootElement[0].GetProperty("health");
        Assert.Equal((1, 0, 1, 0), (health.GetProperty("critical").GetInt32(), health.GetProperty("warning").GetInt32(), health.GetProperty("healthy").GetInt32(), health.GetProperty("unknown").GetInt32()));
        var n1 = nodes.RootElement.EnumerateArray().Single(n => n.GetProperty("node").GetString() == "n1");
        Assert.Equal("/api/runs/run-1/nodes/n1/bundle", n1.GetProperty("bundle").GetString());
        Assert.True(nodes.RootElement.EnumerateArray().Single(n => n.GetProperty("node").GetString() == "n3").GetProperty("incomplete").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/zip", download.Content.Headers.ContentType!.MediaType);
        Assert.Equal("run-1-n1.zip", download.Content.Headers.ContentDisposition!.FileNameStar ?? download.Content.Headers.ContentDisposition.FileName);
        Assert.Equal(await File.ReadAllBytesAsync(_bundle), await download.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Api_TokenFileRotated_OldTokenRefusedNewAccepted()
    {
        File.WriteAllText(_temp.Combine("token"), "rotated-operator-token");

        using var old = await Client(Token).GetAsync("/api/runs");
        using var rotated = await Client("rotated-operator-token").GetAsync("/api/runs");

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.OK), (old.StatusCode, rotated.StatusCode));
    }

    [Fact]
    public async Task SignIn_WithTheToken_SetsAnHttpOnlyStrictSessionCookieThatOpensThePagesAndApi()
    {
        var client = Client();

        using var signIn = await SignInAsync(client, Token);

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("periscope_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        var runs = await client.GetStringAsync("/");
        Assert.Contains("<a href=\"/runs/run-1\">run-1</a>", runs, StringComparison.Ordinal);
        using var report = await client.GetAsync("/runs/run-1");
        var html = await report.Content.ReadAsStringAsync();
        Assert.Contains("href=\"/api/runs/run-1/nodes/n1/bundle\"", html, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", report.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        using var api = await client.GetAsync("/api/runs/run-1/nodes/n1/bundle");
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
    }

    [Fact]
    public async Task SignIn_WrongToken_NoSession()
    {
        var client = Client();

        using var signIn = await SignInAsync(client, "guess");
        using var api = await client.GetAsync("/api/runs");

        Assert.Equal("/signin?failed=1", signIn.Headers.Location!.OriginalString);
        Assert.DoesNotContain(signIn.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], c => c.StartsWith("periscope_session=", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task SignIn_WithoutTheAntiForgeryToken_IsRefused()
    {
        using var response = await Client().PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = Token }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task SignOut_CookieSessionWithoutTheAntiForgeryToken_IsRefusedAndTheSessionStays()
    {
        var client = Client();
        using (await SignInAsync(client, Token))
        {
        }

        using var forged = await client.PostAsync("/signout", new FormUrlEncodedContent(new Dictionary<string, string>()));
        using var still = await client.GetAsync("/api/runs");

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
    }

    [Fact]
    public async Task SignOut_EndsTheSessionOnTheServer_ACopiedCookieIsRefused()
    {
        var client = Client();
        using var signIn = await SignInAsync(client, Token);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("periscope_session=", StringComparison.Ordinal)).Split(';')[0];
        var page = await client.GetStringAsync("/");
        var csrf = CsrfField().Match(page).Groups[1].Value;

        using var signOut = await client.PostAsync("/signout", new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf"] = csrf }));
        var copy = Client();
        using var replay = new HttpRequestMessage(HttpMethod.Get, "/api/runs");
        replay.Headers.Add("Cookie", cookie);
        using var replayed = await copy.SendAsync(replay);

        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
    }

    [Fact]
    public async Task Session_TokenRotated_EndsTheSessionsItOpened()
    {
        var client = Client();
        using (await SignInAsync(client, Token))
        {
        }

        using var before = await client.GetAsync("/api/runs");
        await File.WriteAllTextAsync(_temp.Combine("token"), "rotated-operator-token-55\n");
        using var after = await client.GetAsync("/api/runs");
        using var page = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SignIn_HugeForm_Is413(bool withLength)
    {
        var client = Client();
        var form = await client.GetStringAsync("/signin");
        var csrf = CsrfField().Match(form).Groups[1].Value;
        var body = $"csrf={Uri.EscapeDataString(csrf)}&token=" + new string('a', 50 * 1024 * 1024);
        HttpContent content = withLength
            ? new StringContent(body, System.Text.Encoding.ASCII, "application/x-www-form-urlencoded")
            : new PushStreamContent(body).WithType();

        using var response = await client.PostAsync("/signin", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    /// <summary>A form body sent without a Content-Length (chunked), so only reading it can find its size.</summary>
    private sealed class PushStreamContent(string body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var bytes = System.Text.Encoding.ASCII.GetBytes(body);
            for (var i = 0; i < bytes.Length; i += 1024 * 1024)
            {
                await stream.WriteAsync(bytes.AsMemory(i, Math.Min(1024 * 1024, bytes.Length - i)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        public PushStreamContent WithType()
        {
            Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
            return this;
        }
    }

    [Theory]
    [InlineData("/api/runs/..%2F..%2Fetc/nodes/passwd/bundle")]
    [InlineData("/api/runs/run-1/nodes/..%2F..%2Fsecret.txt/bundle")]
    [InlineData("/api/runs/run-1/nodes/..%2F..%2Fsecret/bundle")]
    [InlineData("/api/runs/run-1/nodes/%2e%2e/bundle")]
    [InlineData("/api/runs/..%5C..%5Csecret/nodes/x/bundle")]
    [InlineData("/api/runs/.staging/nodes/n1/bundle")]
    [InlineData("/api/runs/run-1/nodes/n3/bundle")]
    [InlineData("/api/runs/run-1/nodes/nope/bundle")]
    [InlineData("/api/runs/run-9/report")]
    public async Task Download_PathsOutsideTheStoreOrNotASealedBundle_Are404(string path)
    {
        using var response = await Client(Token).GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("outside the store", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [GeneratedRegex("name=\"csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
