using System.IO.Compression;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using NJsonSchema;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The native agent's signals end to end: a run on a node whose container runtime hangs sets the runtime condition on
/// the Node (through the fake API server's strategic merge), <c>GET /v1/signals</c> answers without a token and
/// validates against its published schema, and the sealed bundle carries the same verdict.
/// </summary>
public sealed class SignalsEndToEndTests : IAsyncLifetime
{
    private const string Token = "agent-local-token-7d1e";
    private const string NodeName = "signal-node";
    private readonly TempDirectory _temp = new();
    private readonly NodeRoot _node = new();
    private Socket _hungRuntime = null!;
    private FakeKubernetesApi _api = null!;
    private string _binary = null!;

    public async ValueTask InitializeAsync()
    {
        var binary = global::System.Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        _binary = binary!;
        File.WriteAllText(_temp.Combine("token"), Token);
        _node.File("etc/hostname", NodeName + "\n").Dir("run/containerd");
        _hungRuntime = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _hungRuntime.Bind(new UnixDomainSocketEndPoint(_node.Real("run/containerd/containerd.sock")));
        _hungRuntime.Listen(16);
        _api = await FakeKubernetesApi.StartAsync();
        _api.PutNode(NodeName);
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _hungRuntime.Dispose();
        _node.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Run_OnANodeWhoseRuntimeHangs_SetsItsCondition_AndSignalsBundleAndConditionAgree()
    {
        var schema = await JsonSchema.FromFileAsync(Fixtures.Docs("schemas", "signals.schema.json"));
        var store = _temp.Combine("spool");
        await using var agent = await AgentProcess.StartAsync(_binary, new Dictionary<string, string>
        {
            ["Periscope__Http__Listen"] = "127.0.0.1:0",
            ["Periscope__Http__TokenFile"] = _temp.Combine("token"),
            ["Periscope__Triggers__ConfigMap__Source"] = "none",
            ["Periscope__Run__CollectorTimeouts__containerd"] = "00:00:20",
            ["Periscope__Collectors__Containerd__CallTimeout"] = "00:00:01",
            ["Periscope__Signals__Kubeconfig"] = _api.WriteKubeconfig(_temp.Combine("kubeconfig")),
        }, "--host-root", _node.Path, "--out", store, "--node", NodeName);
        using var http = new HttpClient { BaseAddress = agent.Address };

        // Before any check: anonymous, valid, and honest that nothing is known.
        var before = await http.GetStringAsync(new Uri("/v1/signals", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Empty(schema.Validate(before));
        using (var document = JsonDocument.Parse(before))
        {
            Assert.Equal(0, document.RootElement.GetProperty("observations").GetInt64());
            Assert.Equal("healthy", document.RootElement.GetProperty("verdict").GetString());
            Assert.Equal(NodeName, document.RootElement.GetProperty("node").GetString());
        }

        using var accepted = await agent.PostRunAsync(Token, """{"runId":"signals-1","collectors":"containerd"}""");
        await agent.WaitForLogAsync(new Regex("Run signals-1 sealed"));

        var after = await http.GetStringAsync(new Uri("/v1/signals", UriKind.Relative), TestContext.Current.CancellationToken);
        var errors = schema.Validate(after);
        Assert.True(errors.Count == 0, string.Join("; ", errors.Select(e => $"{e.Path}: {e.Kind}")) + "\n" + after);
        using var signals = JsonDocument.Parse(after);
        var root = signals.RootElement;
        Assert.Equal("unhealthy", root.GetProperty("verdict").GetString());
        Assert.Equal("restart-runtime", root.GetProperty("action").GetString());
        var signal = Assert.Single(root.GetProperty("signals").EnumerateArray());
        Assert.Equal("RUNTIME_UNREACHABLE", signal.GetProperty("code").GetString());
        Assert.Equal("PeriscopeContainerRuntimeUnhealthy", signal.GetProperty("condition").GetString());
        Assert.Contains(root.GetProperty("conditions").EnumerateArray(),
            c => c.GetProperty("type").GetString() == "PeriscopeContainerRuntimeUnhealthy" && c.GetProperty("status").GetString() == "True");

        // The Node's condition, patched by type next to the kubelet's.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((string?)_api.NodeCondition(NodeName, "PeriscopeContainerRuntimeUnhealthy")?["status"] != "True" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        var condition = _api.NodeCondition(NodeName, "PeriscopeContainerRuntimeUnhealthy");
        Assert.True(condition is not null, agent.Stderr);
        Assert.Equal("True", (string?)condition["status"]);
        Assert.Equal("RuntimeUnreachable", (string?)condition["reason"]);
        Assert.NotNull(_api.NodeCondition(NodeName, "Ready"));
        Assert.All(_api.Requests.Where(r => r.Kind == "patch-node-status"), r => Assert.StartsWith("application/strategic-merge-patch+json", r.ContentType, StringComparison.Ordinal));

        // The bundle sealed by that run says the same.
        using var zip = ZipFile.OpenRead(Path.Combine(store, StoreLayout.BundlePath("signals-1", NodeName)));
        using var entry = zip.GetEntry("findings.json")!.Open();
        var findings = JsonSerializer.Deserialize(entry, BundleJsonContext.Default.FindingsDocument)!;
        Assert.Equal(BundleSchema.Version, findings.SchemaVersion);
        Assert.Equal(SignalVerdict.Unhealthy, findings.Signals!.Verdict);
        Assert.Equal(SignalAction.RestartRuntime, findings.Signals.Action);
        Assert.Equal("RUNTIME_UNREACHABLE", Assert.Single(findings.Signals.Signals).Code);
    }

    [Fact]
    public async Task SignalLoop_KernelRecordAppendedToTheReplayedLog_SetsTheConditionWithinAPass_AndClearsAfterTheHoldDown()
    {
        // A replayed node: boot an hour ago, a kmsg file the kernel check reads whole on every pass.
        var boot = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600);
        _node.File("/proc/stat", $"btime {boot.ToUnixTimeSeconds()}\n").File("/dev/kmsg", "6,1,1000000,-;Linux version 6.8.0\n");
        await using var agent = await AgentProcess.StartAsync(_binary, new Dictionary<string, string>
        {
            ["Periscope__Http__Listen"] = "127.0.0.1:0",
            ["Periscope__Triggers__ConfigMap__Source"] = "none",
            ["Periscope__Signals__Kubeconfig"] = _api.WriteKubeconfig(_temp.Combine("kubeconfig")),
            ["Periscope__Signals__Loop__Interval"] = "00:00:01",
            ["Periscope__Signals__HoldDown"] = "00:00:04",
        }, "--host-root", _node.Path, "--out", _temp.Combine("spool"), "--node", NodeName);

        // The first pass covered the kernel's codes: the type is published False (never before a check).
        await WaitForAsync(() => Status("PeriscopeKernelLockup") == "False", agent, "the kernel type published False after the first pass");
        var falseSince = Transition("PeriscopeKernelLockup");

        // Transition times are whole seconds: append in a later second than the False one, so a new transition is visible.
        var falseAt = DateTimeOffset.Parse(falseSince!, System.Globalization.CultureInfo.InvariantCulture);
        while (DateTimeOffset.UtcNow < falseAt.AddSeconds(1))
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        var at = DateTimeOffset.UtcNow;
        File.AppendAllText(_node.Real("/dev/kmsg"), $"0,2,{(at - boot).Ticks / 10},-;watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [kworker/2:1:77]\n");
        await WaitForAsync(() => Status("PeriscopeKernelLockup") == "True", agent, "the condition set True by the loop");
        var condition = _api.NodeCondition(NodeName, "PeriscopeKernelLockup")!;
        Assert.Equal("KernelSoftLockup", (string?)condition["reason"]);
        Assert.NotEqual(falseSince, (string?)condition["lastTransitionTime"]);

        // Gone (nothing new in the log): False again once the hold-down has passed since the record.
        await WaitForAsync(() => Status("PeriscopeKernelLockup") == "False", agent, "the condition cleared after the hold-down");
        var cleared = DateTimeOffset.Parse(Transition("PeriscopeKernelLockup")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(cleared >= at.AddSeconds(3), $"cleared at {cleared:O}, the record at {at:O}: before its hold-down");
        Assert.Null(_api.NodeCondition(NodeName, "KernelDeadlock")); // the NPD type stays NPD's
    }

    private string? Status(string type) => (string?)_api.NodeCondition(NodeName, type)?["status"];

    private string? Transition(string type) => (string?)_api.NodeCondition(NodeName, type)?["lastTransitionTime"];

    private static async Task WaitForAsync(Func<bool> condition, AgentProcess agent, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}\n{agent.Stderr}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
