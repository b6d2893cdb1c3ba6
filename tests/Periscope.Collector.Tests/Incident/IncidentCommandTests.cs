using System.Text.Json.Nodes;
using Periscope.Bundle;
using Periscope.Collector.Incident;
using Periscope.Collector.Sources;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Incident;

/// <summary>
/// The incident command against the fake API server (access reviews, server-side apply, the DaemonSet and its pods in
/// each state, the run ConfigMap, nodes with taints and NotReady) and a store the simulated agents write to at
/// staggered times: progress, each missing node's reason, the files written, the exit code and the cleanup.
/// </summary>
public sealed class IncidentCommandTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> AgentLabels = new() { ["app.kubernetes.io/name"] = "periscope-agent" };
    private readonly TempDirectory _temp = new();
    private FakeKubernetesApi _api = null!;

    public async ValueTask InitializeAsync() => _api = await FakeKubernetesApi.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    private string Store => _temp.Combine("store");

    private IncidentOptions Options(string runId, TimeSpan? timeout = null, bool cleanup = false, string? imageAgent = null, string? imageCollector = null) => new()
    {
        Kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig")),
        RunId = runId,
        Timeout = timeout ?? TimeSpan.FromSeconds(20),
        PollInterval = TimeSpan.FromMilliseconds(100),
        OutputDirectory = _temp.Combine("out"),
        Bundles = true,
        Cleanup = cleanup,
        ImageAgent = imageAgent,
        ImageCollector = imageCollector,
        Store = () => new DirectoryBundleSource(Store),
    };

    /// <summary>The installed DaemonSet as the shipped manifests make it (nodeSelector linux, no other toleration).</summary>
    private void PutDaemonSet() => _api.PutObject("apps", "daemonsets", "periscope", new JsonObject
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "DaemonSet",
        ["metadata"] = new JsonObject { ["name"] = "periscope-agent", ["namespace"] = "periscope" },
        ["spec"] = new JsonObject
        {
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app.kubernetes.io/name"] = "periscope-agent" } },
            ["template"] = new JsonObject
            {
                ["spec"] = new JsonObject
                {
                    ["nodeSelector"] = new JsonObject { ["kubernetes.io/os"] = "linux" },
                    ["containers"] = new JsonArray(new JsonObject { ["name"] = "agent", ["image"] = "example.azurecr.io/periscope-agent:0.1.0" }),
                },
            },
        },
    });

    [Fact]
    public async Task Installed_RunStarts_NodesReportAtStaggeredTimes_EachMissingNodeIsExplained_AndTheReportIsWritten()
    {
        PutDaemonSet();
        foreach (var node in new[] { "n1", "n2", "n3-gpu", "n4-pull", "n5-loop", "n6-down", "n7-silent", "n8-unplaced" })
        {
            _api.PutNode(node, ready: node == "n6-down" ? "False" : "True", reason: node == "n6-down" ? "KubeletNotReady" : null,
                taints: node == "n3-gpu" ? [("sku", "gpu", "NoSchedule")] : null, created: TestBundles.Start.AddDays(-2));
        }

        _api.PutAgentPod("periscope", "periscope-agent-a", "n1", AgentLabels);
        _api.PutAgentPod("periscope", "periscope-agent-b", "n2", AgentLabels);
        _api.PutAgentPod("periscope", "periscope-agent-d", "n4-pull", AgentLabels, phase: "Pending", waitingReason: "ImagePullBackOff", waitingMessage: "Back-off pulling image \"example.azurecr.io/periscope-agent:0.1.0\"");
        _api.PutAgentPod("periscope", "periscope-agent-e", "n5-loop", AgentLabels, waitingReason: "CrashLoopBackOff", restarts: 7, lastTerminated: ("Error", 3, "periscope-agent: cannot open /host/proc"));
        _api.PutAgentPod("periscope", "periscope-agent-g", "n7-silent", AgentLabels);
        _api.PutAgentPod("periscope", "periscope-agent-h", "n8-unplaced", AgentLabels, phase: "Pending", unschedulable: "0/8 nodes are available: 1 Insufficient memory.");
        var output = new StringWriter();
        var console = new RecordingConsole(new PlainIncidentConsole(output));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        // The simulated agents, one after the other and each only once the watch saw its previous step (no race
        // with the poll): n1 starts, then seals; then n2 starts, then seals.
        var agents = Task.Run(async () =>
        {
            await WaitForRunAsync("run-incident-1");
            WriteStarted("run-incident-1", "n1");
            await console.SeenAsync("n1", NodeState.Started, stop.Token);
            await TestBundles.WriteAsync(Store, "run-incident-1", "n1", startedAt: DateTimeOffset.UtcNow);
            await console.SeenAsync("n1", NodeState.Uploaded, stop.Token);
            WriteStarted("run-incident-1", "n2");
            await console.SeenAsync("n2", NodeState.Started, stop.Token);
            await TestBundles.WriteAsync(Store, "run-incident-1", "n2", [TestBundles.Finding("KERNEL_OOM_KILL", Severity.Critical)], startedAt: DateTimeOffset.UtcNow);
        }, stop.Token);

        var exit = await new IncidentCommand(Options("run-incident-1", TimeSpan.FromSeconds(10)), console, TimeProvider.System).RunAsync(stop.Token);
        await stop.CancelAsync(); // a simulated agent still waiting means the watch missed a step: the asserts below say which
        await agents.ContinueWith(_ => { }, TaskScheduler.Default);
        var text = output.ToString();

        // The run was started through the ConfigMap, marked as this command's.
        var configMap = _api.ConfigMap("periscope-run")!;
        Assert.Equal("run-incident-1", (string?)configMap["data"]!["runId"]);
        Assert.Equal("periscope-incident", (string?)configMap["metadata"]!["labels"]!["periscope.io/installed-by"]);
        Assert.DoesNotContain(_api.Requests, r => r.Kind.StartsWith("patch ", StringComparison.Ordinal)); // installed already: nothing applied

        // Progress, as it happened: started before uploaded, for each reporting node.
        Assert.True(text.IndexOf("n1: started", StringComparison.Ordinal) < text.IndexOf("n1: uploaded", StringComparison.Ordinal), text);
        Assert.True(text.IndexOf("n2: started", StringComparison.Ordinal) < text.IndexOf("n2: uploaded", StringComparison.Ordinal), text);
        Assert.Contains("expected 7, started 0, sealed 0, uploaded 2, failed 0, missing 5, not selected 1", text, StringComparison.Ordinal);

        // One line per node that did not report, with its reason.
        Assert.Contains("n3-gpu: not selected by the DaemonSet: it does not tolerate the node's taint sku=gpu:NoSchedule", text, StringComparison.Ordinal);
        Assert.Contains("n4-pull: agent pod periscope-agent-d is pending: ImagePullBackOff", text, StringComparison.Ordinal);
        Assert.Contains("n5-loop: agent pod periscope-agent-e is crash-looping (7 restarts; last exit: Error, code 3: periscope-agent: cannot open /host/proc)", text, StringComparison.Ordinal);
        Assert.Contains("n6-down: node NotReady (KubeletNotReady", text, StringComparison.Ordinal);
        Assert.Contains("n7-silent: agent pod periscope-agent-g is running but has not started the run", text, StringComparison.Ordinal);
        Assert.Contains("n8-unplaced: agent pod periscope-agent-h is pending: not scheduled (Unschedulable: 0/8 nodes are available: 1 Insufficient memory.)", text, StringComparison.Ordinal);

        // The report and the bundles; exit code the report's (n2 is critical).
        Assert.Equal(2, exit);
        foreach (var extension in new[] { "html", "md", "json" })
        {
            Assert.True(File.Exists(Path.Combine(_temp.Combine("out"), $"report-run-incident-1.{extension}")), extension);
        }

        Assert.Equal(["n1.zip", "n2.zip"], Directory.GetFiles(Path.Combine(_temp.Combine("out"), "bundles", "run-incident-1")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("left running: the installation found in periscope, as it was", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotInstalled_WithoutImages_ChangesNothing_AndExits3()
    {
        var output = new StringWriter();

        var exit = await new IncidentCommand(Options("run-incident-2"), new PlainIncidentConsole(output), TimeProvider.System).RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(3, exit);
        Assert.Contains("give --image-agent and --image-collector", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(_api.Requests, r => r.Kind.StartsWith("patch ", StringComparison.Ordinal) || r.Body is not null && r.Kind != "access-review");
    }

    [Fact]
    public async Task RunTriggerRefused_ExitsThree_SayingWhy()
    {
        PutDaemonSet();
        _api.ConfigMapWriteStatus = 403;
        var output = new StringWriter();

        var exit = await new IncidentCommand(Options("run-incident-refused"), new PlainIncidentConsole(output), TimeProvider.System).RunAsync(TestContext.Current.CancellationToken);

        var text = output.ToString();
        Assert.Equal(3, exit);
        Assert.Contains("the run could not be started: may not write ConfigMap periscope/periscope-run (403)", text, StringComparison.Ordinal);
        Assert.DoesNotContain("report:", text, StringComparison.Ordinal);
        Assert.Contains("left running: the installation found in periscope, as it was", text, StringComparison.Ordinal);
        Assert.Null(_api.ConfigMap("periscope-run"));
    }

    [Fact]
    public async Task MissingPermissions_AreListedExactly_BeforeAnythingChanges()
    {
        _api.Deny("create", "daemonsets", "apps", "periscope");
        _api.Deny("escalate", "clusterroles", "rbac.authorization.k8s.io");
        _api.Deny("bind", "clusterroles", "rbac.authorization.k8s.io");
        _api.Deny("list", "nodes");
        var output = new StringWriter();

        var exit = await new IncidentCommand(Options("run-incident-3", imageAgent: "r.example/agent:1", imageCollector: "r.example/collector:1"), new PlainIncidentConsole(output), TimeProvider.System)
            .RunAsync(TestContext.Current.CancellationToken);

        var text = output.ToString();
        Assert.Equal(3, exit);
        Assert.Contains("missing permissions (nothing was changed)", text, StringComparison.Ordinal);
        Assert.Contains("missing: create daemonsets.apps in namespace periscope", text, StringComparison.Ordinal);
        Assert.Contains("missing: list nodes (cluster-wide)", text, StringComparison.Ordinal);
        // Without escalate, creating a ClusterRole needs every permission it grants: listing nodes is one of them.
        Assert.Contains("missing: list nodes (cluster-wide): ClusterRole", text, StringComparison.Ordinal);
        Assert.Contains("missing: bind clusterroles.rbac.authorization.k8s.io", text, StringComparison.Ordinal);
        Assert.DoesNotContain(_api.Requests, r => r.Kind.StartsWith("patch ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NotInstalled_IsInstalledByServerSideApply_AndCleanupRemovesExactlyThat_Idempotently()
    {
        foreach (var node in new[] { "n1", "n2" })
        {
            _api.PutNode(node, new Dictionary<string, string> { ["kubernetes.io/arch"] = "amd64" }, created: TestBundles.Start.AddDays(-2));
        }

        _api.SetNodeCondition("n1", new JsonObject
        {
            ["type"] = "PeriscopeKernelLockup", ["status"] = "True", ["reason"] = "KernelSoftLockup", ["message"] = "periscope-agent: KERNEL_SOFT_LOCKUP on the node",
            ["lastHeartbeatTime"] = "2026-12-05T08:00:00Z", ["lastTransitionTime"] = "2026-12-05T07:00:00Z",
        });
        _api.Put("someone-elses", new Dictionary<string, string> { ["k"] = "v" });
        var output = new StringWriter();

        var exit = await new IncidentCommand(Options("run-incident-4", TimeSpan.FromMilliseconds(300), cleanup: false, "r.example/periscope-agent:1", "r.example/periscope-collector:1"),
            new PlainIncidentConsole(output), TimeProvider.System).RunAsync(TestContext.Current.CancellationToken);
        var text = output.ToString();

        // Applied with a field manager, the images set, every object marked with the run.
        var applies = _api.Requests.Where(r => r.Kind.StartsWith("patch ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(applies);
        Assert.All(applies, a => Assert.Equal("application/apply-patch+yaml", a.ContentType?.Split(';')[0]));
        Assert.All(applies, a => Assert.Contains("fieldManager=periscope-incident", a.Path, StringComparison.Ordinal));
        var daemonSet = _api.GetObject("apps", "daemonsets", "periscope", "periscope-agent");
        Assert.True(daemonSet is not null, text + string.Join("\n", applies.Select(a => a.Path)));
        Assert.Equal("r.example/periscope-agent:1", (string?)daemonSet!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]);
        Assert.Equal("periscope-incident", (string?)daemonSet["metadata"]!["labels"]!["periscope.io/installed-by"]);
        Assert.Equal("run-incident-4", (string?)daemonSet["metadata"]!["annotations"]!["periscope.io/incident-run"]);
        Assert.NotNull(_api.GetObject("", "secrets", "periscope", "periscope-operator-token"));
        Assert.Contains("timed out", text, StringComparison.Ordinal); // no agent runs here
        Assert.Contains("n1: no agent pod on the node", text, StringComparison.Ordinal);
        Assert.Contains("left running: what this command installed", text, StringComparison.Ordinal);
        Assert.Contains("--cleanup-only --run-id run-incident-4", text, StringComparison.Ordinal);
        Assert.True(exit is 1 or 3, $"exit {exit}");

        // Cleanup: everything this command made, and Periscope's node condition; nothing else.
        var cleaned = new StringWriter();
        var cleanupExit = await IncidentCommand.CleanupOnlyAsync(Options("x").Kubeconfig, null, new PlainIncidentConsole(cleaned), TestContext.Current.CancellationToken);
        text = cleaned.ToString();
        Assert.True(cleanupExit == 0, text);
        Assert.Null(_api.GetObject("apps", "daemonsets", "periscope", "periscope-agent"));
        Assert.Empty(_api.ListObjects("rbac.authorization.k8s.io", "clusterroles"));
        Assert.Null(_api.GetObject("", "secrets", "periscope", "periscope-operator-token"));
        Assert.Null(_api.ConfigMap("periscope-run"));
        Assert.NotNull(_api.ConfigMap("someone-elses"));
        Assert.Contains("removed DaemonSet periscope/periscope-agent", text, StringComparison.Ordinal);
        Assert.Contains("removed node n1: condition(s) PeriscopeKernelLockup", text, StringComparison.Ordinal);
        Assert.DoesNotContain(_api.NodeConditions("n1"), c => (string?)c["type"] == "PeriscopeKernelLockup");

        var again = new StringWriter();
        Assert.Equal(0, await IncidentCommand.CleanupOnlyAsync(Options("x").Kubeconfig, null, new PlainIncidentConsole(again), TestContext.Current.CancellationToken));
        Assert.Contains("nothing to remove", again.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cleanup_RemovesOnlyWhatThisRunInstalled_AndNamesTheEarlierInstallLeftRunning()
    {
        _api.PutNode("n1", new Dictionary<string, string> { ["kubernetes.io/arch"] = "amd64" }, created: TestBundles.Start.AddDays(-2));
        var images = ("r.example/periscope-agent:1", "r.example/periscope-collector:1");

        // Run A installs and leaves it; run B finds it installed, runs, and cleans up.
        Assert.True(await new IncidentCommand(Options("run-a", TimeSpan.FromMilliseconds(200), cleanup: false, images.Item1, images.Item2), new PlainIncidentConsole(new StringWriter()), TimeProvider.System)
            .RunAsync(TestContext.Current.CancellationToken) is 1 or 3);
        var output = new StringWriter();
        await new IncidentCommand(Options("run-b", TimeSpan.FromMilliseconds(200), cleanup: true), new PlainIncidentConsole(output), TimeProvider.System).RunAsync(TestContext.Current.CancellationToken);

        var text = output.ToString();
        Assert.NotNull(_api.GetObject("apps", "daemonsets", "periscope", "periscope-agent"));
        Assert.NotNull(_api.ConfigMap("periscope-run")); // created by run A: its to remove
        Assert.Contains("left running: the installation incident run run-a made in periscope; remove it with: periscope-collector incident --cleanup-only --run-id run-a", text, StringComparison.Ordinal);
        Assert.DoesNotContain("removed DaemonSet", text, StringComparison.Ordinal);

        // Another run's id removes nothing; run A's removes its install.
        var other = new StringWriter();
        Assert.Equal(0, await IncidentCommand.CleanupOnlyAsync(Options("x").Kubeconfig, "run-c", new PlainIncidentConsole(other), TestContext.Current.CancellationToken));
        Assert.NotNull(_api.GetObject("apps", "daemonsets", "periscope", "periscope-agent"));
        var cleaned = new StringWriter();
        Assert.Equal(0, await IncidentCommand.CleanupOnlyAsync(Options("x").Kubeconfig, "run-a", new PlainIncidentConsole(cleaned), TestContext.Current.CancellationToken));
        Assert.Null(_api.GetObject("apps", "daemonsets", "periscope", "periscope-agent"));
        Assert.Null(_api.ConfigMap("periscope-run"));
        Assert.Contains("removed DaemonSet periscope/periscope-agent", cleaned.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AksOverlay_WithoutItsSettings_ChangesNothing_AndNamesTheSettingsFile()
    {
        var output = new StringWriter();
        var options = Options("run-aks-1", imageAgent: "r.example/a:1", imageCollector: "r.example/c:1");

        var exit = await new IncidentCommand(new IncidentOptions
        {
            Kubeconfig = options.Kubeconfig, RunId = options.RunId, OutputDirectory = options.OutputDirectory, Overlay = "aks",
            ImageAgent = options.ImageAgent, ImageCollector = options.ImageCollector, Store = options.Store,
            Settings = new Dictionary<string, string> { ["CONTAINER_URL"] = "https://acct.blob.core.windows.net/periscope" },
        }, new PlainIncidentConsole(output), TimeProvider.System).RunAsync(TestContext.Current.CancellationToken);

        var text = output.ToString();
        Assert.Equal(3, exit);
        Assert.Contains("the aks overlay needs AGENT_CLIENT_ID, COLLECTOR_CLIENT_ID: give --settings FILE, a filled-in copy of deploy/overlays/aks/azure.env", text, StringComparison.Ordinal);
        Assert.DoesNotContain(_api.Requests, r => r.Kind.StartsWith("patch ", StringComparison.Ordinal));

        // With all of them, the overlay is applied with each value where its placeholder stood.
        var agentId = "11111111-2222-3333-4444-555555555555";
        output = new StringWriter();
        await new IncidentCommand(new IncidentOptions
        {
            Kubeconfig = options.Kubeconfig, RunId = "run-aks-2", OutputDirectory = options.OutputDirectory, Overlay = "aks", Timeout = TimeSpan.FromMilliseconds(200),
            ImageAgent = options.ImageAgent, ImageCollector = options.ImageCollector, Store = options.Store,
            Settings = new Dictionary<string, string>
            {
                ["CONTAINER_URL"] = "https://acct.blob.core.windows.net/periscope",
                ["AGENT_CLIENT_ID"] = agentId,
                ["COLLECTOR_CLIENT_ID"] = "66666666-7777-8888-9999-000000000000",
            },
        }, new PlainIncidentConsole(output), TimeProvider.System).RunAsync(TestContext.Current.CancellationToken);

        text = output.ToString();
        Assert.Contains("applying the aks overlay", text, StringComparison.Ordinal);
        var account = _api.GetObject("", "serviceaccounts", "periscope", "periscope-agent");
        Assert.True(account is not null, text);
        Assert.Equal(agentId, (string?)account!["metadata"]!["annotations"]!["azure.workload.identity/client-id"]);
        var settings = Assert.Single(_api.ListObjects("", "configmaps"), c => ((string?)c["metadata"]!["name"])!.StartsWith("periscope-azure-", StringComparison.Ordinal));
        Assert.Equal("https://acct.blob.core.windows.net/periscope", (string?)settings["data"]!["CONTAINER_URL"]);
    }

    /// <summary>Passes everything on, and lets a simulated agent wait until the watch saw a node in a state.</summary>
    private sealed class RecordingConsole(IIncidentConsole inner) : IIncidentConsole
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(string Node, NodeState State)> _seen = new();

        public void Step(string text) => inner.Step(text);

        public void Line(string text) => inner.Line(text);

        public void Error(string text) => inner.Error(text);

        public void NodeChanged(NodeView view, TimeSpan elapsed)
        {
            inner.NodeChanged(view, elapsed);
            _seen.Enqueue((view.Node, view.State));
        }

        public void Progress(IReadOnlyList<NodeView> views, TimeSpan elapsed) => inner.Progress(views, elapsed);

        public async Task SeenAsync(string node, NodeState state, CancellationToken cancellationToken)
        {
            while (!_seen.Contains((node, state)))
            {
                await Task.Delay(20, cancellationToken);
            }
        }
    }

    private async Task WaitForRunAsync(string runId)
    {
        while ((string?)_api.ConfigMap("periscope-run")?["data"]?["runId"] != runId)
        {
            await Task.Delay(50);
        }
    }

    private void WriteStarted(string runId, string node)
    {
        Directory.CreateDirectory(Path.Combine(Store, runId));
        File.WriteAllBytes(Path.Combine(Store, StoreLayout.StartedPath(runId, node)),
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new StartedMarker { Node = node, RunId = runId, StartedAt = DateTimeOffset.UtcNow }, BundleJsonContext.Default.StartedMarker));
    }
}
