using System.IO.Compression;
using System.Text;
using System.Text.Json;
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
