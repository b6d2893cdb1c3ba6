using System.Text.Json.Nodes;
using Periscope.Agent.Cli;
using Periscope.Agent.Signals;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Signals;

/// <summary><c>periscope-agent conditions remove</c>: no owned condition outlives Periscope, and nothing else is touched.</summary>
public sealed class OwnedConditionCleanupTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private FakeKubernetesApi _api = null!;

    public async ValueTask InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        foreach (var name in new[] { "node-a", "node-b", "node-c" })
        {
            _api.PutNode(name);
        }

        _api.SetNodeCondition("node-a", Condition(SignalMap.ContainerRuntimeUnhealthy, "periscope-agent: RUNTIME_NOT_READY on the node: x"));
        _api.SetNodeCondition("node-a", Condition("KernelDeadlock", "kernel has no deadlock")); // node-problem-detector's
        _api.SetNodeCondition("node-b", Condition(SignalMap.PodIPExhaustion, "periscope-agent: no CNI_IP_EXHAUSTION finding"));
        _api.SetNodeCondition("node-b", Condition("ReadonlyFilesystem", "periscope-agent: no FS_READONLY finding")); // NPD type Periscope wrote
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    private static JsonObject Condition(string type, string message) => new()
    {
        ["type"] = type, ["status"] = "False", ["reason"] = "NoProblem", ["message"] = message,
        ["lastTransitionTime"] = "2026-12-01T00:00:00Z", ["lastHeartbeatTime"] = "2026-12-01T00:00:00Z",
    };

    private async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AgentCli.RunAsync(["conditions", "remove", "--kubeconfig", _api.WriteKubeconfig(_temp.Combine("kubeconfig")), .. args], stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private List<string> Types(string node) => [.. _api.NodeConditions(node).Select(c => (string)c["type"]!).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task AllNodes_RemovesEveryOwnedCondition_AndLeavesTheKubeletsAndNpdsAlone()
    {
        var dry = await RunAsync("--all-nodes", "--dry-run");
        Assert.Equal(0, dry.Exit);
        Assert.Contains("node-a: would remove PeriscopeContainerRuntimeUnhealthy", dry.Stdout, StringComparison.Ordinal);
        Assert.Contains(SignalMap.PodIPExhaustion, Types("node-b"));

        var (exit, stdout, stderr) = await RunAsync("--all-nodes");

        Assert.True(exit == 0, stderr);
        Assert.Equal(["KernelDeadlock", "MemoryPressure", "Ready"], Types("node-a"));
        Assert.Equal(["MemoryPressure", "Ready"], Types("node-b"));
        Assert.Equal(["MemoryPressure", "Ready"], Types("node-c"));
        Assert.Contains("2 node(s) held Periscope conditions", stdout, StringComparison.Ordinal);
        Assert.Equal(2, _api.Requests.Count(r => r.Kind == "patch-node-status")); // node-c had nothing: not written
    }

    [Fact]
    public async Task OneNode_OnlyThatNode_AndAForbiddenApiExitsThree()
    {
        var (exit, _, _) = await RunAsync("--node", "node-b");
        Assert.Equal(0, exit);
        Assert.Equal(["MemoryPressure", "Ready"], Types("node-b"));
        Assert.Contains(SignalMap.ContainerRuntimeUnhealthy, Types("node-a"));

        _api.ForcedStatus = 403;
        var denied = await RunAsync("--node", "node-a");
        Assert.Equal(3, denied.Exit);
        Assert.Contains("403", denied.Stderr, StringComparison.Ordinal);
        Assert.Equal(3, (await RunAsync()).Exit); // neither --node nor --all-nodes
    }
}
