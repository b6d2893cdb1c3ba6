using System.Diagnostics;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The incident command against the fake API server while real native agents (`periscope-agent collect` over a
/// captured node) upload to Azurite at staggered times — one node's agent never reports, one node the DaemonSet does not
/// select, one agent pod pending, one crash-looping — and as a kubectl plugin: the same program named kubectl-periscope.
/// </summary>
[Collection(AzuriteTests.Name)]
public sealed class IncidentRealAgentsTests(Azurite azurite) : IAsyncLifetime
{
    private static readonly Dictionary<string, string> AgentLabels = new() { ["app.kubernetes.io/name"] = "periscope-agent" };
    private readonly TempDirectory _temp = new();
    private FakeKubernetesApi _api = null!;

    public async ValueTask InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _api.PutObject("apps", "daemonsets", "periscope", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "periscope-agent", ["namespace"] = "periscope" },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app.kubernetes.io/name"] = "periscope-agent" } },
                ["template"] = new JsonObject
                {
                    ["spec"] = new JsonObject
                    {
                        ["nodeSelector"] = new JsonObject { ["kubernetes.io/os"] = "linux" },
                        ["tolerations"] = new JsonArray(new JsonObject { ["key"] = "CriticalAddonsOnly", ["operator"] = "Exists" }),
                        ["containers"] = new JsonArray(new JsonObject { ["name"] = "agent", ["image"] = "r.example/periscope-agent:1" }),
                    },
                },
            },
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task RealAgentsUploadAtStaggeredTimes_EveryNodeIsAccountedFor_AndTheReportIsTheStores()
    {
        azurite.Require();
        var agent = Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(agent is not null && File.Exists(agent), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        var container = new BlobContainerClient(azurite.ConnectionString, "incident-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        var connection = _temp.Combine("connection-string");
        await File.WriteAllTextAsync(connection, azurite.ConnectionString);
        string[] reporting = ["aks-sys-0", "aks-user-1", "aks-user-2"];
        foreach (var node in reporting.Concat(["aks-silent-3", "aks-pending-4", "aks-looping-5"]))
        {
            _api.PutNode(node, created: TestBundles.Start.AddDays(-1));
        }

        _api.PutNode("aks-gpu-6", taints: [("sku", "gpu", "NoSchedule")], created: TestBundles.Start.AddDays(-1));
        foreach (var node in reporting.Append("aks-silent-3"))
        {
            _api.PutAgentPod("periscope", "periscope-agent-" + node, node, AgentLabels);
        }

        _api.PutAgentPod("periscope", "periscope-agent-pending", "aks-pending-4", AgentLabels, phase: "Pending", waitingReason: "ErrImagePull", waitingMessage: "pull access denied");
        _api.PutAgentPod("periscope", "periscope-agent-looping", "aks-looping-5", AgentLabels, waitingReason: "CrashLoopBackOff", restarts: 4, lastTerminated: ("OOMKilled", 137, null));

        // The agents: each node's own collect, one after the other, a second apart, once the run is started.
        var agents = Task.Run(async () =>
        {
            string? runId;
            while ((runId = (string?)_api.ConfigMap("periscope-run")?["data"]?["runId"]) is null)
            {
                await Task.Delay(50);
            }

            foreach (var node in reporting)
            {
                await Task.Delay(1000);
                var info = new ProcessStartInfo(agent!, ["collect", "--host-root", Fixtures.Node("healthy"), "--offline", CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd,
                    "--node", node, "--run-id", runId, "--out", _temp.Combine("spool-" + node)])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    Environment =
                    {
                        ["Periscope__Sinks__Blob__Auth"] = "connection-string",
                        ["Periscope__Sinks__Blob__ConnectionStringFile"] = connection,
                        ["Periscope__Sinks__Blob__Container"] = container.Name,
                    },
                };
                using var process = Process.Start(info)!;
                await Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync(), process.WaitForExitAsync());
            }
        });

        // The command as a kubectl plugin: kubectl finds kubectl-periscope on PATH and runs it with the same arguments.
        var kubectl = Requires.Tool("kubectl");
        var bin = Directory.CreateDirectory(_temp.Combine("bin")).FullName;
        File.CreateSymbolicLink(Path.Combine(bin, "kubectl-periscope"), Path.Combine(AppContext.BaseDirectory, "periscope-collector"));
        var kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig"));
        var command = new ProcessStartInfo(kubectl, ["periscope", "incident", "--kubeconfig", kubeconfig, "--blob-connection-string-file", connection,
            "--blob-container", container.Name, "--run-id", "run-real", "--timeout", "45", "--out", _temp.Combine("out"), "--bundles"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}" },
        };
        using var incident = Process.Start(command)!;
        var stdout = incident.StandardOutput.ReadToEndAsync();
        var stderr = incident.StandardError.ReadToEndAsync();
        await incident.WaitForExitAsync(TestContext.Current.CancellationToken);
        await agents;
        var text = await stdout + await stderr;

        Assert.True(incident.ExitCode == 1, text); // three nodes missing: a warning; the reporting ones are healthy
        Assert.DoesNotContain('\u001b', text); // not a terminal: plain lines
        Assert.All(reporting, node => Assert.Contains($"{node}: uploaded", text, StringComparison.Ordinal));

        Assert.Contains("aks-gpu-6: not selected by the DaemonSet: it does not tolerate the node's taint sku=gpu:NoSchedule", text, StringComparison.Ordinal);
        Assert.Contains("aks-pending-4: agent pod periscope-agent-pending is pending: ErrImagePull (pull access denied)", text, StringComparison.Ordinal);
        Assert.Contains("aks-looping-5: agent pod periscope-agent-looping is crash-looping (4 restarts; last exit: OOMKilled, code 137)", text, StringComparison.Ordinal);
        Assert.Contains("aks-silent-3: agent pod periscope-agent-aks-silent-3 is running but has not started the run", text, StringComparison.Ordinal);
        Assert.Contains("3 of 6 node(s) reported; 3 did not; 1 not selected by the DaemonSet", text, StringComparison.Ordinal);
        var report = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_temp.Combine("out"), "report-run-real.json"), TestContext.Current.CancellationToken))!;
        Assert.Equal(3, report["summary"]!["nodes"]!.GetValue<int>());
        Assert.Equal(reporting, Directory.GetFiles(Path.Combine(_temp.Combine("out"), "bundles", "run-real")).Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal));
        Assert.True(await container.GetBlobClient("run-real/aks-user-2.started").ExistsAsync(TestContext.Current.CancellationToken));
    }
}
