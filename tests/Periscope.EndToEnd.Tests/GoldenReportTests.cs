using System.Text.Json;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// Golden scenarios: a run's bundles are written as the scenario describes, <c>periscope-collector report --format
/// json</c> reads them, and the report must hold every field of the expected JSON, written by hand from the
/// scenario (<c>tests/fixtures/reports/</c>; fields it does not name are not compared; arrays must match in length
/// and order).
/// </summary>
public sealed class GoldenReportTests
{
    [Fact]
    public async Task Report_PoolSkewAndMissingNode_MatchesTheHandWrittenReport()
    {
        using var store = new TempDirectory();
        var earlier = TestBundles.Start.AddHours(-6);
        foreach (var (node, pool) in new[] { ("a1", "pool-a"), ("a2", "pool-a"), ("a3", "pool-a"), ("b1", "pool-b"), ("b2", "pool-b") })
        {
            await TestBundles.WriteAsync(store.Path, "run-0", node, startedAt: earlier, pool: pool, identity: i => i with { KubeletVersion = "v1.31.2" });
        }

        var oom = TestBundles.Finding("KERNEL_OOM_KILL", Severity.Warning, "oom");
        await TestBundles.WriteAsync(store.Path, "run-1", "a1", [oom], pool: "pool-a", identity: i => i with { KubeletVersion = "v1.31.2" });
        await TestBundles.WriteAsync(store.Path, "run-1", "a2", [oom], pool: "pool-a", identity: i => i with { KubeletVersion = "v1.30.6" });
        await TestBundles.WriteAsync(store.Path, "run-1", "a3", withStatus: false, pool: "pool-a", identity: i => i with { KubeletVersion = "v1.31.2" });
        await TestBundles.WriteAsync(store.Path, "run-1", "b1", pool: "pool-b", identity: i => i with { KubeletVersion = "v1.31.2" });

        var (exit, json, stderr) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--run-id", "run-1", "--format", "json");

        Assert.True(exit == 3, stderr); // unknown: a node could not be read
        using var actual = JsonDocument.Parse(json);
        using var expected = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Fixtures.Repository, "tests/fixtures/reports/pool-skew-missing-node.expected.json")));
        AssertContains(expected.RootElement, actual.RootElement, "$");
    }

    [Fact]
    public async Task Report_ExpectedNodesFromKubernetes_MatchesTheHandWrittenReport()
    {
        using var store = new TempDirectory();
        await using var api = await FakeKubernetesApi.StartAsync();
        var pool = (string name) => new Dictionary<string, string> { ["kubernetes.azure.com/agentpool"] = name };
        foreach (var node in new[] { "a1", "a2", "a3" })
        {
            api.PutNode(node, pool("pool-a"));
            await TestBundles.WriteAsync(store.Path, "run-1", node, pool: "pool-a");
        }

        api.PutNode("b1", pool("pool-b"));
        api.PutNode("b2", pool("pool-b"));
        api.PutNode("c1", pool("pool-a"), ready: "Unknown", reason: "NodeStatusUnknown");
        api.PutNode("a4", pool("pool-a"), created: TestBundles.Start.AddMinutes(10));
        api.PutNode("win1", new Dictionary<string, string> { ["kubernetes.io/os"] = "windows" });
        api.PutNode("aci", new Dictionary<string, string> { ["type"] = "virtual-kubelet" });

        var (exit, json, stderr) = await CliRunner.CollectorAsync(
            "report", "--store", store.Path, "--run-id", "run-1", "--format", "json", "--kubeconfig", api.WriteKubeconfig(Path.Combine(store.Path, "kubeconfig")));

        Assert.True(exit == 1, stderr); // warning: nodes are missing
        using var actual = JsonDocument.Parse(json);
        using var expected = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Fixtures.Repository, "tests/fixtures/reports/kubernetes-nodes-list.expected.json")));
        AssertContains(expected.RootElement, actual.RootElement, "$");
    }

    [Fact]
    public async Task Report_AksUpgradeBlockedByABudget_MatchesTheHandWrittenReport()
    {
        using var store = new TempDirectory();
        await using var api = await FakeKubernetesApi.StartAsync();
        Dictionary<string, string> Labels(string pool, string mode) => new() { ["kubernetes.azure.com/agentpool"] = pool, ["kubernetes.azure.com/mode"] = mode };
        api.PutNode("sys1", Labels("system", "system"));
        api.PutNode("u1", new Dictionary<string, string>(Labels("user", "user")) { ["kubernetes.azure.com/upgrade-status"] = "Quarantined" }, unschedulable: true);
        api.PutNode("u2", Labels("user", "user"));
        api.PutNode("u3", Labels("user", "user"));
        api.SetNodeCondition("u3", new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "KernelDeadlock", ["status"] = "True", ["reason"] = "DockerHung", ["message"] = "task docker:7 blocked for more than 300 seconds.",
            ["lastHeartbeatTime"] = "2026-11-20T09:50:00Z", ["lastTransitionTime"] = "2026-11-20T09:40:00Z",
        });
        foreach (var (node, pool, mode) in new[] { ("sys1", "system", "System"), ("u1", "user", "User"), ("u2", "user", "User"), ("u3", "user", "User") })
        {
            await TestBundles.WriteAsync(store.Path, "run-1", node, pool: pool, identity: i => i with { Mode = mode, InstanceType = "Standard_D4s_v5", KubeletVersion = "v1.31.2" });
        }

        api.PutPod("shop", "db-0", new Dictionary<string, string> { ["app"] = "db" }, "u1", "StatefulSet");
        api.PutPdb("shop", "db", new Dictionary<string, string> { ["app"] = "db" }, disruptionsAllowed: 0, expectedPods: 1);
        api.PutPod("shop", "cache-5c7d-x1", new Dictionary<string, string> { ["app"] = "cache" }, "u2");
        api.PutPdb("shop", "cache", new Dictionary<string, string> { ["app"] = "cache" }, disruptionsAllowed: 0, expectedPods: 1);
        api.PutPod("shop", "web-6b9f-a1", new Dictionary<string, string> { ["app"] = "web" }, "sys1");
        api.PutPod("kube-system", "coredns-7c8d-q2", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }, "sys1");
        api.PutNodeEvent("u2", "NodeRebootStart", "aks-auto-repair", "Node reboot started by AKS auto-repair", TestBundles.Start.AddMinutes(-20));

        var (exit, json, stderr) = await CliRunner.CollectorAsync(
            "report", "--store", store.Path, "--run-id", "run-1", "--format", "json", "--kubeconfig", api.WriteKubeconfig(Path.Combine(store.Path, "kubeconfig")));

        Assert.True(exit == 2, stderr); // critical: KernelDeadlock on u3
        using var actual = JsonDocument.Parse(json);
        using var expected = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Fixtures.Repository, "tests/fixtures/reports/aks-upgrade-blocked.expected.json")));
        AssertContains(expected.RootElement, actual.RootElement, "$");
        Assert.DoesNotContain(api.Requests, r => r.Kind == "list-pods"); // pods only ever as a Table
    }

    /// <summary>Every property of <paramref name="expected"/> is in <paramref name="actual"/> with the same value.</summary>
    private static void AssertContains(JsonElement expected, JsonElement actual, string path)
    {
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                Assert.True(actual.ValueKind == JsonValueKind.Object, $"{path}: expected an object, found {actual}");
                foreach (var property in expected.EnumerateObject().Where(p => !p.Name.StartsWith('_')))
                {
                    Assert.True(actual.TryGetProperty(property.Name, out var value), $"{path}.{property.Name} is missing in {actual}");
                    AssertContains(property.Value, value, $"{path}.{property.Name}");
                }

                break;
            case JsonValueKind.Array:
                Assert.True(actual.ValueKind == JsonValueKind.Array && actual.GetArrayLength() == expected.GetArrayLength(),
                    $"{path}: expected {expected.GetArrayLength()} items, found {actual}");
                for (var i = 0; i < expected.GetArrayLength(); i++)
                {
                    AssertContains(expected[i], actual[i], $"{path}[{i}]");
                }

                break;
            default:
                Assert.True(expected.GetRawText() == actual.GetRawText(), $"{path}: expected {expected.GetRawText()}, found {actual.GetRawText()}");
                break;
        }
    }
}
