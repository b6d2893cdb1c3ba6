using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// A property test of the readers: a bundle whose hashes are consistent but whose documents are mutated — each field
/// nulled, removed or given another type — is either read or rejected with a reason, never takes the run's report
/// down, and <c>verify</c> judges it as <c>report</c> does. The base bundles are real ones collected from a fixture
/// node. The mutations are sampled with a fixed seed (<c>PERISCOPE_FUZZ_SEED</c> and <c>PERISCOPE_FUZZ_CASES</c>
/// run other and longer campaigns by hand).
/// </summary>
public sealed class MalformedDocumentTests
{
    private const string Run = "mutated-1";

    public static TheoryData<string> Documents => new() { BundleSchema.ManifestEntry, BundleSchema.FindingsEntry, BundleSchema.FactsEntry };

    [Theory]
    [MemberData(nameof(Documents))]
    public async Task Report_MutatedDocument_RejectsOrReadsTheBundleAndKeepsTheOtherNodes(string document)
    {
        using var store = new TempDirectory();
        foreach (var node in new[] { "fault-node", "healthy" })
        {
            var (exit, _, stderr) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node(node), "--offline",
                CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", Run);
            Assert.True(exit is 0 or 1 or 2, stderr);
        }

        var zip = store.Combine(Run, "fault-node.zip");
        var status = store.Combine(Run, "fault-node.status.json");
        var originalZip = await File.ReadAllBytesAsync(zip);
        var originalStatus = await File.ReadAllTextAsync(status);
        var original = ReadEntry(originalZip, document);

        var seed = int.TryParse(Environment.GetEnvironmentVariable("PERISCOPE_FUZZ_SEED"), out var s) ? s : 20261204;
        var cases = int.TryParse(Environment.GetEnvironmentVariable("PERISCOPE_FUZZ_CASES"), out var c) ? c : 40;
        var mutations = Mutations(JsonNode.Parse(original)!, new Random(seed), cases);
        Assert.True(mutations.Count >= Math.Min(cases, 20), $"only {mutations.Count} mutations of {document}");
        var rejected = 0;
        foreach (var (description, mutated) in mutations)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(mutated);
            var (zipBytes, statusText) = Reseal(originalZip, originalStatus, document, bytes);
            await File.WriteAllBytesAsync(zip, zipBytes);
            await File.WriteAllTextAsync(status, statusText);
            foreach (var stale in Directory.EnumerateFiles(store.Path, "report.*"))
            {
                File.Delete(stale); // each format must be written anew by this mutation's report
            }

            var (exit, _, stderr) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--run-id", Run, "--format", "json", "--out", store.Combine("report.json"));
            // A rejected node makes the run unknown (3); the report is still written whole, with every other node.
            Assert.True(exit is >= 0 and <= 3, $"{document} {description}: report exit {exit}: {stderr}");
            Assert.DoesNotContain("Object reference", stderr, StringComparison.Ordinal);
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(store.Combine("report.json")));
            var nodes = report.RootElement.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("node").GetString()!);
            Assert.False(nodes["healthy"].TryGetProperty("rejected", out _), $"{document} {description}: the good node was not read");
            var reportRejected = nodes["fault-node"].TryGetProperty("rejected", out var reason) ? reason.GetString() : null;
            if (reportRejected is not null)
            {
                rejected++;
                Assert.False(string.IsNullOrWhiteSpace(reportRejected));
                Assert.DoesNotContain("Object reference", reportRejected, StringComparison.Ordinal);
            }

            foreach (var format in new[] { "markdown", "html" })
            {
                var (formatExit, _, formatErrors) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--run-id", Run, "--format", format, "--out", store.Combine("report." + format));
                Assert.True(formatExit == exit, $"{document} {description}: {format} exit {formatExit}, json {exit}: {formatErrors}");
                Assert.True(new FileInfo(store.Combine("report." + format)).Length > 0, $"{document} {description}: no {format} report");
            }

            var (verifyExit, verifyOut, verifyErrors) = await CliRunner.CollectorAsync("verify", "--store", store.Path, "--run-id", Run, "--json");
            Assert.True(verifyExit is 0 or 2, $"{document} {description}: verify exit {verifyExit}: {verifyErrors}");
            using var verify = JsonDocument.Parse(verifyOut);
            var outcome = verify.RootElement.GetProperty("bundles").EnumerateArray()
                .Single(r => r.GetProperty("bundlePath").GetString() == $"{Run}/fault-node.zip").GetProperty("outcome").GetString();
            Assert.True((outcome == "ok") == (reportRejected is null), $"{document} {description}: verify says {outcome}, report says {reportRejected ?? "read"}");
        }

        // The campaign means something only if it both rejects and accepts some documents.
        Assert.True(rejected > 0, $"no mutation of {document} was rejected");
    }

    [Theory]
    [InlineData("{\"schemaVersion\":\"1.0\",\"findings\":null}", "findings")]
    [InlineData("{\"schemaVersion\":\"1.0\",\"findings\":[null]}", "$.findings[0]")]
    [InlineData("{\"schemaVersion\":\"1.0\",\"findings\":[{\"code\":\"X\",\"severity\":\"warning\",\"title\":\"t\",\"collector\":\"kernel\",\"subject\":{\"kind\":\"node\",\"id\":\"n\"},\"attributes\":{},\"count\":1,\"evidence\":null}]}", "evidence")]
    [InlineData("{\"schemaVersion\":\"1.0\",\"findings\":[{\"code\":\"X\",\"severity\":\"warning\",\"title\":\"t\",\"collector\":\"kernel\",\"subject\":{\"kind\":\"node\",\"id\":\"n\"},\"attributes\":{},\"count\":1}]}", "evidence")]
    [InlineData("{\"schemaVersion\":\"1.0\",\"findings\":[{\"code\":\"X\",\"severity\":\"warning\",\"title\":null,\"collector\":\"kernel\",\"subject\":{\"kind\":\"node\",\"id\":\"n\"},\"attributes\":{},\"count\":1,\"evidence\":[]}]}", "title")]
    [InlineData("{\"schemaVersion\":\"1.0\",\"findings\":[{\"code\":\"X\",\"severity\":\"warning\",\"title\":\"t\",\"collector\":\"kernel\",\"subject\":null,\"attributes\":{},\"count\":1,\"evidence\":[]}]}", "subject")]
    [InlineData("{\"schemaVersion\":\"1.0\",\"findings\":[{\"code\":\"X\",\"severity\":7,\"title\":\"t\",\"collector\":\"kernel\",\"subject\":{\"kind\":\"node\",\"id\":\"n\"},\"attributes\":{},\"count\":1,\"evidence\":[]}]}", "severity")]
    [InlineData("{\"schemaVersion\":\"1.0\",\"findings\":[{\"code\":\"X\",\"severity\":\"warning\",\"title\":\"t\",\"collector\":\"kernel\",\"subject\":{\"kind\":\"node\",\"id\":\"n\"},\"attributes\":{\"pod\":null},\"count\":1,\"evidence\":[]}]}", "attributes")]
    public async Task Report_NamedNullFindings_RejectsTheBundleWithTheReason(string findings, string named)
    {
        using var store = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, Run, "good");
        await TestBundles.WriteAsync(store.Path, Run, "bad");
        var zip = store.Combine(Run, "bad.zip");
        var (zipBytes, status) = Reseal(await File.ReadAllBytesAsync(zip), await File.ReadAllTextAsync(store.Combine(Run, "bad.status.json")),
            BundleSchema.FindingsEntry, System.Text.Encoding.UTF8.GetBytes(findings));
        await File.WriteAllBytesAsync(zip, zipBytes);
        await File.WriteAllTextAsync(store.Combine(Run, "bad.status.json"), status);

        var (exit, _, stderr) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--format", "json", "--out", store.Combine("r.json"));
        var (verifyExit, verifyOut, _) = await CliRunner.CollectorAsync("verify", "--store", store.Path, "--json");

        Assert.True(exit == 3, stderr); // a rejected node makes the run unknown; the report is still written
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(store.Combine("r.json")));
        var nodes = report.RootElement.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("node").GetString()!);
        Assert.False(nodes["good"].TryGetProperty("rejected", out _));
        var reason = nodes["bad"].GetProperty("rejected").GetString()!;
        Assert.Contains("findings.json", reason, StringComparison.Ordinal);
        Assert.Contains(named, reason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, verifyExit);
        Assert.Contains("\"corrupt\"", verifyOut, StringComparison.Ordinal);
    }

    /// <summary>Up to <paramref name="count"/> mutations: each chosen path nulled, removed, or given another type.</summary>
    private static List<(string Description, JsonNode Document)> Mutations(JsonNode root, Random random, int count)
    {
        var paths = new List<string>();
        Collect(root, "$", paths);
        var chosen = paths.OrderBy(_ => random.Next()).Take(count).ToList();
        var result = new List<(string, JsonNode)>();
        foreach (var path in chosen)
        {
            var kind = random.Next(3);
            var copy = root.DeepClone();
            var (parent, key) = Locate(copy, path);
            var current = parent is JsonObject o ? o[key] : ((JsonArray)parent)[int.Parse(key, System.Globalization.CultureInfo.InvariantCulture)];
            JsonNode? replacement = current switch
            {
                JsonValue v when v.GetValueKind() == JsonValueKind.String => JsonValue.Create(12345),
                JsonValue => JsonValue.Create("retyped"),
                JsonArray => new JsonObject(),
                _ => JsonValue.Create("retyped"),
            };
            string description;
            switch (kind)
            {
                case 0:
                    Set(parent, key, null);
                    description = $"{path} = null";
                    break;
                case 1 when parent is JsonObject obj:
                    obj.Remove(key);
                    description = $"{path} removed";
                    break;
                default:
                    Set(parent, key, replacement);
                    description = $"{path} retyped";
                    break;
            }

            result.Add((description, copy));
        }

        return result;
    }

    private static void Collect(JsonNode? node, string path, List<string> paths)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == "schemaVersion")
                    {
                        continue; // version handling has its own tests
                    }

                    paths.Add($"{path}.{key}");
                    Collect(value, $"{path}.{key}", paths);
                }

                break;
            case JsonArray array:
                // The first two elements stand for the rest.
                for (var i = 0; i < Math.Min(2, array.Count); i++)
                {
                    paths.Add($"{path}[{i}]");
                    Collect(array[i], $"{path}[{i}]", paths);
                }

                break;
        }
    }

    private static (JsonNode Parent, string Key) Locate(JsonNode root, string path)
    {
        var parts = System.Text.RegularExpressions.Regex.Matches(path[1..], @"\.([^.\[]+)|\[(\d+)\]").Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).ToList();
        var node = root;
        for (var i = 0; i < parts.Count - 1; i++)
        {
            node = node is JsonObject o ? o[parts[i]]! : node[int.Parse(parts[i], System.Globalization.CultureInfo.InvariantCulture)]!;
        }

        return (node, parts[^1]);
    }

    private static void Set(JsonNode parent, string key, JsonNode? value)
    {
        if (parent is JsonObject obj)
        {
            obj[key] = value;
        }
        else
        {
            ((JsonArray)parent)[int.Parse(key, System.Globalization.CultureInfo.InvariantCulture)] = value;
        }
    }

    private static byte[] ReadEntry(byte[] zip, string name)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        using var stream = archive.GetEntry(name)!.Open();
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>
    /// Rewrites the zip with <paramref name="document"/> replaced, its manifest record made to match (size and
    /// sha256), and the status record made to match the new zip: every hash is consistent, only the shape is bad.
    /// </summary>
    private static (byte[] Zip, string Status) Reseal(byte[] zip, string status, string document, byte[] content)
    {
        var entries = new List<(string Name, byte[] Bytes)>();
        using (var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read))
        {
            foreach (var entry in archive.Entries)
            {
                using var stream = entry.Open();
                using var memory = new MemoryStream();
                stream.CopyTo(memory);
                entries.Add((entry.FullName, memory.ToArray()));
            }
        }

        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Name == document)
            {
                entries[i] = (document, content);
            }
        }

        if (document != BundleSchema.ManifestEntry)
        {
            var index = entries.FindIndex(e => e.Name == BundleSchema.ManifestEntry);
            var manifest = JsonNode.Parse(entries[index].Bytes)!;
            foreach (var record in manifest["documents"]!.AsArray())
            {
                if ((string?)record!["path"] == document)
                {
                    record["size"] = content.Length;
                    record["sha256"] = Convert.ToHexStringLower(SHA256.HashData(content));
                }
            }

            entries[index] = (BundleSchema.ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(manifest));
        }

        using var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in entries)
            {
                using var stream = archive.CreateEntry(name).Open();
                stream.Write(bytes);
            }
        }

        var zipBytes = output.ToArray();
        var record2 = JsonNode.Parse(status)!;
        record2["bundleSize"] = zipBytes.Length;
        record2["sha256"] = Convert.ToHexStringLower(SHA256.HashData(zipBytes));
        return (zipBytes, record2.ToJsonString());
    }
}
