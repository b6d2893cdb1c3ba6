using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Api.Tests;

/// <summary>
/// A run full of bad bundles — truncated, `../` entry names, a zip bomb, a newer schema major, a tampered entry, no
/// status record — is still served: every bad node is rejected or marked incomplete with its reason in the report,
/// the good node is reported, and the service answers the next request.
/// </summary>
public sealed class BadBundleTests : IAsyncLifetime
{
    private const string Token = "bad-bundle-token";
    private readonly TempDirectory _temp = new();
    private CollectorApiFactory _factory = null!;

    public async ValueTask InitializeAsync()
    {
        var store = _temp.Combine("store");
        File.WriteAllText(_temp.Combine("token"), Token);
        await TestBundles.WriteAsync(store, "bad", "good");

        var truncated = await TestBundles.WriteAsync(store, "bad", "truncated");
        var bytes = await File.ReadAllBytesAsync(truncated);
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 2)]);

        var traversal = await TestBundles.WriteAsync(store, "bad", "traversal");
        Rewrite(traversal, archive =>
        {
            using var stream = archive.CreateEntry("../../etc/cron.d/evil").Open();
            stream.Write("x"u8);
        });

        var bomb = await TestBundles.WriteAsync(store, "bad", "bomb");
        Rewrite(bomb, archive =>
        {
            using var stream = archive.CreateEntry("kernel/zeros.log", CompressionLevel.SmallestSize).Open();
            var zeros = new byte[1024 * 1024];
            for (var i = 0; i < 64; i++)
            {
                stream.Write(zeros);
            }
        });

        var newer = await TestBundles.WriteAsync(store, "bad", "newer");
        ReplaceText(newer, BundleSchema.ManifestEntry, $"\"schemaVersion\": \"{BundleSchema.Version}\"", "\"schemaVersion\": \"2.0\"");

        var tampered = await TestBundles.WriteAsync(store, "bad", "tampered");
        TestBundles.ReplaceEntry(tampered, BundleSchema.FindingsEntry, Encoding.UTF8.GetBytes("{\"schemaVersion\":\"1.0\",\"findings\":[]}   "));

        await TestBundles.WriteAsync(store, "bad", "unsealed", withStatus: false);
        _factory = new CollectorApiFactory(new Api.ServerOptions { Store = store, TokenFile = _temp.Combine("token") });
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        _temp.Dispose();
    }

    private static void Rewrite(string zip, Action<ZipArchive> write)
    {
        File.Delete(zip);
        using var archive = ZipFile.Open(zip, ZipArchiveMode.Create);
        write(archive);
    }

    private static void ReplaceText(string zip, string entryName, string from, string to)
    {
        using var archive = ZipFile.Open(zip, ZipArchiveMode.Update);
        var entry = archive.GetEntry(entryName)!;
        string text;
        using (var reader = new StreamReader(entry.Open()))
        {
            text = reader.ReadToEnd();
        }

        entry.Delete();
        using var writer = new StreamWriter(archive.CreateEntry(entryName).Open());
        writer.Write(text.Replace(from, to, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Report_RunOfBadBundles_NamesEachReasonAndTheServiceKeepsServing()
    {
        var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var response = await client.GetAsync("/api/runs/bad/report");
        using var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var nodes = report.RootElement.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("node").GetString()!);
        string Reason(string node) => nodes[node].GetProperty("rejected").GetString()!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", nodes["good"].GetProperty("status").GetString());
        Assert.Contains("not a readable zip", Reason("truncated"), StringComparison.Ordinal);
        Assert.Contains("unsafe", Reason("traversal"), StringComparison.Ordinal);
        Assert.Contains("zip bomb", Reason("bomb"), StringComparison.Ordinal);
        Assert.Contains("2.0", Reason("newer"), StringComparison.Ordinal);
        Assert.Contains("findings.json", Reason("tampered"), StringComparison.Ordinal);
        Assert.True(nodes["unsealed"].GetProperty("incomplete").GetBoolean());
        var correlations = report.RootElement.GetProperty("correlations").EnumerateArray().Select(c => c.GetProperty("code").GetString()).ToList();
        Assert.Contains("BUNDLE_REJECTED", correlations);
        Assert.Contains("BUNDLE_INCOMPLETE", correlations);

        using var html = await client.GetAsync("/api/runs/bad/report?format=html");
        using var download = await client.GetAsync("/api/runs/bad/nodes/good/bundle");
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (html.StatusCode, download.StatusCode));
        Assert.Contains("zip bomb", await html.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
