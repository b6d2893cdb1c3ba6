using System.Text.Json.Nodes;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The incident command as a person runs it: the real program in a terminal (tmux: send-keys, capture-pane) draws its
/// live table, redraws it as nodes start and report, and leaves the final picture and the report's path; the same run
/// with its output piped prints plain lines, no ANSI.
/// </summary>
public sealed class IncidentTerminalTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> Amd64 = new() { ["kubernetes.io/arch"] = "amd64" };
    private readonly TempDirectory _temp = new();
    private FakeKubernetesApi _api = null!;

    public async ValueTask InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _api.PutObject("apps", "daemonsets", "periscope", new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "DaemonSet",
            ["metadata"] = new JsonObject { ["name"] = "periscope-agent", ["namespace"] = "periscope" },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app.kubernetes.io/name"] = "periscope-agent" } },
                ["template"] = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "agent", ["image"] = "r.example/periscope-agent:1" }) } },
            },
        });
        foreach (var node in new[] { "node-a", "node-b" })
        {
            _api.PutNode(node, Amd64, created: TestBundles.Start.AddDays(-1));
            _api.PutAgentPod("periscope", $"periscope-agent-{node}", node, new Dictionary<string, string> { ["app.kubernetes.io/name"] = "periscope-agent" });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    private string Store => _temp.Combine("store");

    [Fact]
    public async Task InATerminal_TheLiveTableRendersUpdatesAndFinishes_PipedItIsPlainLines()
    {
        var tmux = Requires.Tool("tmux");
        var program = Path.Combine(AppContext.BaseDirectory, "periscope-collector");
        var kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig"));
        var session = "periscope-" + Guid.NewGuid().ToString("N")[..8];
        var socket = _temp.Combine("tmux.sock"); // its own server: nothing shared with another tmux
        string Command(string run) => $"'{program}' incident --kubeconfig '{kubeconfig}' --store '{Store}' --run-id {run} --timeout 60 --out '{_temp.Combine("out-" + run)}'";
        await RunAsync(tmux, "-S", socket, "new-session", "-d", "-s", session, "-x", "150", "-y", "40", "bash --norc --noprofile");
        try
        {
            await RunAsync(tmux, "-S", socket, "send-keys", "-t", session, $"{Command("run-live")}; echo EXIT=$?", "Enter");

            // The table is drawn with both nodes waiting; each step shows only after the command drew the one before.
            var screen = await ScreenUntilAsync(tmux, socket, session, s => s.Contains("node-a", StringComparison.Ordinal) && s.Contains("waiting", StringComparison.Ordinal));
            Assert.True(screen.Contains("Node", StringComparison.Ordinal) && screen.Contains("expected 2", StringComparison.Ordinal), screen);
            WriteStarted("run-live", "node-a");
            screen = await ScreenUntilAsync(tmux, socket, session, s => Row(s, "node-a")?.Contains("started", StringComparison.Ordinal) == true);
            Assert.Contains("waiting", Row(screen, "node-b"), StringComparison.Ordinal);
            await TestBundles.WriteAsync(Store, "run-live", "node-a", startedAt: DateTimeOffset.UtcNow.AddSeconds(-30));
            WriteStarted("run-live", "node-b");
            await TestBundles.WriteAsync(Store, "run-live", "node-b", startedAt: DateTimeOffset.UtcNow.AddSeconds(-30));
            screen = await ScreenUntilAsync(tmux, socket, session, s => System.Text.RegularExpressions.Regex.IsMatch(s, @"^EXIT=\d", System.Text.RegularExpressions.RegexOptions.Multiline));

            // Redrawn in place: one table on the screen, its rows final, then the report and the exit code.
            Assert.Single(screen.Split('\n'), l => l.Contains("expected 2,", StringComparison.Ordinal));
            Assert.True(Row(screen, "node-a")!.Contains("uploaded", StringComparison.Ordinal) && Row(screen, "node-b")!.Contains("uploaded", StringComparison.Ordinal), screen);
            Assert.Contains("every expected node reported (2)", screen, StringComparison.Ordinal);
            Assert.Contains("report-run-live.html", screen, StringComparison.Ordinal);
            Assert.True(screen.Contains("\nEXIT=0", StringComparison.Ordinal), screen);
        }
        finally
        {
            await TestProcess.RunAsync(tmux, "-S", socket, "kill-server");
        }

        // Piped: plain lines, no escape sequence, the same end.
        foreach (var node in new[] { "node-a", "node-b" })
        {
            WriteStarted("run-piped", node);
            await TestBundles.WriteAsync(Store, "run-piped", node, startedAt: DateTimeOffset.UtcNow.AddSeconds(-30));
        }

        var (exit, stdout, stderr) = await TestProcess.RunAsync(program, "incident", "--kubeconfig", kubeconfig, "--store", Store, "--run-id", "run-piped", "--timeout", "60", "--out", _temp.Combine("out-piped"));
        Assert.True(exit == 0, stderr + stdout);
        Assert.DoesNotContain('\u001b', stdout);
        Assert.Contains("node-a: uploaded", stdout, StringComparison.Ordinal);
        Assert.Contains("==> every expected node reported (2)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CtrlC_StopsTheWatch_SaysWhereEachNodeIs_AndWhatIsLeftRunning()
    {
        var tmux = Requires.Tool("tmux");
        var program = Path.Combine(AppContext.BaseDirectory, "periscope-collector");
        var kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig"));
        var session = "periscope-" + Guid.NewGuid().ToString("N")[..8];
        var socket = _temp.Combine("tmux-c.sock");
        await RunAsync(tmux, "-S", socket, "new-session", "-d", "-s", session, "-x", "150", "-y", "40", "bash --norc --noprofile");
        try
        {
            await RunAsync(tmux, "-S", socket, "send-keys", "-t", session,
                $"'{program}' incident --kubeconfig '{kubeconfig}' --store '{Store}' --run-id run-stopped --timeout 300 --out '{_temp.Combine("out-stopped")}'; echo EXIT=$?", "Enter");
            WriteStarted("run-stopped", "node-a");
            await ScreenUntilAsync(tmux, socket, session, s => Row(s, "node-a")?.Contains("started", StringComparison.Ordinal) == true);
            await RunAsync(tmux, "-S", socket, "send-keys", "-t", session, "C-c");
            var screen = await ScreenUntilAsync(tmux, socket, session, s => System.Text.RegularExpressions.Regex.IsMatch(s, @"^EXIT=\d", System.Text.RegularExpressions.RegexOptions.Multiline));

            Assert.True(screen.Contains("stopped waiting (interrupted)", StringComparison.Ordinal), screen);
            Assert.Contains("node-a: collecting (its agent started the run)", screen, StringComparison.Ordinal);
            Assert.Contains("node-b: agent pod periscope-agent-node-b is running but has not started the run", screen, StringComparison.Ordinal);
            Assert.Contains("left running: the installation found in periscope, as it was", screen, StringComparison.Ordinal);
            Assert.Contains("\nEXIT=3", screen, StringComparison.Ordinal); // no bundle yet: no report
        }
        finally
        {
            await TestProcess.RunAsync(tmux, "-S", socket, "kill-server");
        }
    }

    private static string? Row(string screen, string node) => screen.Split('\n').LastOrDefault(l => l.Contains(node, StringComparison.Ordinal));

    private static async Task<string> ScreenUntilAsync(string tmux, string socket, string session, Func<string, bool> done)
    {
        var screen = string.Empty;
        for (var i = 0; i < 600; i++)
        {
            screen = (await TestProcess.RunAsync(tmux, "-S", socket, "capture-pane", "-p", "-t", session)).Stdout;
            if (done(screen))
            {
                return screen;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"the screen never showed what was expected; it shows:\n{screen}");
        return screen;
    }

    private static async Task RunAsync(string program, params string[] args)
    {
        var (exit, stdout, stderr) = await TestProcess.RunAsync(program, args);
        Assert.True(exit == 0, $"{program} {string.Join(' ', args)}: {stdout}{stderr}");
    }

    private void WriteStarted(string runId, string node)
    {
        Directory.CreateDirectory(Path.Combine(Store, runId));
        File.WriteAllBytes(Path.Combine(Store, StoreLayout.StartedPath(runId, node)),
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new StartedMarker { Node = node, RunId = runId, StartedAt = DateTimeOffset.UtcNow }, BundleJsonContext.Default.StartedMarker));
    }
}
