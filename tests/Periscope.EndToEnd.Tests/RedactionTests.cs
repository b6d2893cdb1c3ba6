using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Periscope.Agent.Redaction;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>Secrets on a node never reach the bundle, the findings or what the CLI prints; the manifest counts them.</summary>
public sealed class RedactionTests
{
    private const string Jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IkFCQyJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU";
    private const string Password = "Tr0ub4dor-and-3";

    [Fact]
    public async Task Collect_NodeWithSecretsInLogsAndConfig_BundleAndOutputHoldOnlyMarkers()
    {
        using var root = new NodeRoot()
            .File("/etc/hostname", "secret-node\n")
            .File("/var/lib/kubelet/config.yaml", $"kind: KubeletConfiguration\nclusterDomain: cluster.local\nstaticPodURLHeader:\n  Authorization: [\"Bearer {Jwt}\"]\n# registry password: {Password}\n")
            .File("/var/log/kubelet.log",
                $"E1120 10:00:00.000000 2211 kuberuntime_sandbox.go:72] \"Failed to create sandbox for pod\" err=\"pull failed: GET https://puller:{Password}@registry.example/v2/: 401, Authorization: Bearer {Jwt}\" pod=\"shop/web-1\"\n" +
                "I1120 10:00:01.000000 2211 kubelet.go:2400] \"SyncLoop (housekeeping)\"\n")
            .Dir("/proc");
        using var store = new TempDirectory();

        var (exit, stdout, stderr) = await CliRunner.AgentAsync("collect", "--host-root", root.Path, "--offline", "--collectors", "kubelet",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "redact-1", "--json");
        var (_, human, _) = await CliRunner.AgentAsync("collect", "--host-root", root.Path, "--offline", "--collectors", "kubelet",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "redact-2");

        Assert.True(exit is 1 or 2, stderr);
        foreach (var printed in new[] { stdout, human, stderr })
        {
            Assert.DoesNotContain(Jwt, printed, StringComparison.Ordinal);
            Assert.DoesNotContain(Password, printed, StringComparison.Ordinal);
        }

        using var output = JsonDocument.Parse(stdout);
        var bundle = output.RootElement.GetProperty("bundle").GetString()!;
        using (var zip = ZipFile.OpenRead(bundle))
        {
            foreach (var entry in zip.Entries)
            {
                using var reader = new StreamReader(entry.Open(), Encoding.UTF8);
                var text = await reader.ReadToEndAsync();
                Assert.DoesNotContain(Jwt, text, StringComparison.Ordinal);
                Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
                Assert.DoesNotContain(Jwt[..40], text, StringComparison.Ordinal);
            }
        }

        using var verified = BundleReader.Open(File.OpenRead(bundle), "secret-node");
        verified.VerifyAll(); // hashes are of the redacted bytes
        var files = verified.Manifest.Collectors.Single(c => c.Name == "kubelet").Files;
        var journal = files.Single(f => f.Path == "kubelet/journal.log");
        Assert.Equal(1, journal.Redactions!["bearer-token"]);
        Assert.Equal(1, journal.Redactions["url-credentials"]);
        Assert.True(files.Single(f => f.Path == "kubelet/config.yaml").Redactions!.ContainsKey("bearer-token"));
        var sandbox = verified.ReadFindings().Findings.Single(f => f.Code == "KUBELET_SANDBOX_CREATE_FAILED");
        Assert.Contains("Bearer ***REDACTED:bearer-token***", sandbox.Detail, StringComparison.Ordinal);
        Assert.Contains("https://***REDACTED:url-credentials***@registry.example", sandbox.Attributes["error"], StringComparison.Ordinal);
        Assert.NotNull(verified.Manifest.Documents.Single(d => d.Path == BundleSchema.FindingsEntry).Redactions);
    }
}

/// <summary><c>periscope-agent redact</c> and user rules.</summary>
public sealed class RedactCommandTests
{
    private const string Ticket = "tkt_AbCdEfGhIjKlMnOpQrSt";

    [Fact]
    public async Task Redact_BundleMadeBeforeARuleExisted_IsRewrittenVerifiedAndCounted()
    {
        using var root = new NodeRoot()
            .File("/etc/hostname", "old-node\n")
            .File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n")
            .File("/var/log/kubelet.log", $"I1120 10:00:00.000000 1 x.go:1] \"calling ticket service\" ticket=\"{Ticket}\"\nI1120 10:00:01.000000 1 x.go:2] \"done\"\n")
            .Dir("/proc");
        using var store = new TempDirectory();
        var (_, stdout, _) = await CliRunner.AgentAsync("collect", "--host-root", root.Path, "--offline", "--collectors", "kubelet",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "old", "--json");
        var input = JsonDocument.Parse(stdout).RootElement.GetProperty("bundle").GetString()!;
        Assert.Contains(Ticket, await EntryTextAsync(input, "kubelet/journal.log"), StringComparison.Ordinal); // no rule knew it then
        var before = await File.ReadAllBytesAsync(input);
        var output = Path.Combine(store.Path, "redacted.zip");

        var (exit, printed, error) = await RunRedactAsync(input, output, o => o.Rules.Add(new UserRedactionRule { Name = "ticket-token", Pattern = "tkt_(?<secret>[A-Za-z0-9]{20})", Triggers = ["tkt_"] }));

        Assert.True(exit == 0, error);
        Assert.Contains("ticket-token 1", printed, StringComparison.Ordinal);
        var journal = await EntryTextAsync(output, "kubelet/journal.log");
        Assert.DoesNotContain(Ticket[4..], journal, StringComparison.Ordinal);
        Assert.Contains("tkt_***REDACTED:ticket-token***", journal, StringComparison.Ordinal);
        Assert.Equal(2, journal.TrimEnd('\n').Split('\n').Length);
        using (var reader = BundleReader.Open(File.OpenRead(output), "old-node"))
        {
            Assert.Empty(reader.VerifyAll());
            Assert.Equal(1, reader.Manifest.Collectors.Single(c => c.Name == "kubelet").Files.Single(f => f.Path == "kubelet/journal.log").Redactions!["ticket-token"]);
        }

        Assert.Equal(before, await File.ReadAllBytesAsync(input)); // the input is never touched

        var (again, _, againError) = await RunRedactAsync(input, output, null);
        Assert.Equal(3, again);
        Assert.Contains("already exists", againError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redact_CorruptBundle_IsRefusedAndNothingIsWritten()
    {
        using var store = new TempDirectory();
        var (_, stdout, _) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("healthy"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "c", "--json");
        var input = JsonDocument.Parse(stdout).RootElement.GetProperty("bundle").GetString()!;
        using (var zip = ZipFile.Open(input, ZipArchiveMode.Update))
        {
            // A well-formed zip whose evidence no longer matches the manifest's hash: tampered, or damaged in transit.
            var entry = zip.Entries.First(e => e.FullName.StartsWith("system/", StringComparison.Ordinal));
            var name = entry.FullName;
            entry.Delete();
            await using var stream = zip.CreateEntry(name).Open();
            await stream.WriteAsync("tampered\n"u8.ToArray());
        }
        var output = Path.Combine(store.Path, "out.zip");

        var (exit, _, error) = await RunRedactAsync(input, output, null);

        Assert.Equal(3, exit);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.EnumerateFiles(store.Path, "*.tmp"));
        Assert.StartsWith("periscope-agent redact:", error, StringComparison.Ordinal);
        Assert.Contains("fails verification", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bad name", "x", "must be lower-case")]
    [InlineData("look-behind", "(?<=a)b", "cannot be used")]
    [InlineData("unbalanced", "(abc", "cannot be used")]
    public async Task Collect_UnusableUserRule_StopsAtStartWithItsName(string name, string pattern, string expected)
    {
        using var store = new TempDirectory();
        var stderr = new StringWriter();

        var exit = await Periscope.Agent.Cli.AgentCli.RunAsync(
            ["collect", "--host-root", Fixtures.Node("healthy"), "--offline", "--out", store.Path], new StringWriter(), stderr,
            services => services.Configure<RedactionOptions>(o => o.Rules.Add(new UserRedactionRule { Name = name, Pattern = pattern })));

        Assert.Equal(3, exit);
        Assert.Contains(expected, stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains(name, stderr.ToString(), StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunRedactAsync(string input, string output, Action<RedactionOptions>? options)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await Periscope.Agent.Cli.AgentCli.RunAsync(["redact", "--in", input, "--out", output], stdout, stderr,
            options is null ? null : services => services.Configure(options));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static async Task<string> EntryTextAsync(string bundle, string entry)
    {
        using var zip = ZipFile.OpenRead(bundle);
        using var reader = new StreamReader(zip.GetEntry(entry)!.Open());
        return await reader.ReadToEndAsync();
    }
}
