using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The native agent on a replayed AKS node (DMI says Azure): its Node object's labels (fake API server) give the
/// manifest's pool, mode, priority and node image; the fake metadata service's scheduled events, read by the
/// background poller before any run, become a finding of the next run; both documents validate against their schemas.
/// </summary>
public sealed class AzureEndToEndTests : IAsyncLifetime
{
    private const string Token = "agent-local-token-a2b9";
    private const string NodeName = "aks-spotpool-12345678-vmss000000";
    private const string VmName = "aks-spotpool-12345678-vmss_0";
    private readonly TempDirectory _temp = new();
    private readonly NodeRoot _node = new();
    private FakeKubernetesApi _api = null!;
    private FakeInstanceMetadataService _imds = null!;
    private string _binary = null!;

    public async ValueTask InitializeAsync()
    {
        var binary = global::System.Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        _binary = binary!;
        File.WriteAllText(_temp.Combine("token"), Token);
        _node.File("etc/hostname", NodeName + "\n")
            .File("sys/class/dmi/id/sys_vendor", "Microsoft Corporation\n")
            .File("sys/class/dmi/id/chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77\n");
        _api = await FakeKubernetesApi.StartAsync();
        _api.PutNode(NodeName, new Dictionary<string, string>
        {
            ["kubernetes.azure.com/agentpool"] = "spotpool",
            ["kubernetes.azure.com/mode"] = "user",
            ["kubernetes.azure.com/priority"] = "spot",
            ["node.kubernetes.io/instance-type"] = "Standard_D4s_v5",
            ["topology.kubernetes.io/zone"] = "westeurope-2",
            ["kubernetes.azure.com/node-image-version"] = "AKSUbuntu-2204gen2containerd-202411.12.0",
        });
        _imds = await FakeInstanceMetadataService.StartAsync();
        _imds.Compute = FakeInstanceMetadataService.RegularCompute(VmName, "Spot");
        _imds.ScheduledEvents = $$"""
            {"DocumentIncarnation": 2, "Events": [
              {"EventId": "9d1b5c3e-1f0a-4c8e-9a47-2f6c0d8e7b11", "EventType": "Preempt", "ResourceType": "VirtualMachine",
               "Resources": ["{{VmName}}"], "EventStatus": "Scheduled", "NotBefore": "Mon, 07 Dec 2026 18:29:47 GMT",
               "Description": "", "EventSource": "Platform", "DurationInSeconds": -1}
            ]}
            """;
    }

    public async ValueTask DisposeAsync()
    {
        await _imds.DisposeAsync();
        await _api.DisposeAsync();
        _node.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Run_OnAnAksSpotNode_RecordsItsPoolFromTheNodeObject_AndThePreemptionFromThePolledEvents()
    {
        var store = _temp.Combine("spool");
        await using var agent = await AgentProcess.StartAsync(_binary, new Dictionary<string, string>
        {
            ["Periscope__Http__Listen"] = "127.0.0.1:0",
            ["Periscope__Http__TokenFile"] = _temp.Combine("token"),
            ["Periscope__Triggers__ConfigMap__Source"] = "none",
            ["Periscope__Signals__Conditions__Publish"] = "off",
            ["Periscope__Signals__Events__Publish"] = "off",
            ["Periscope__NodeObject__Kubeconfig"] = _api.WriteKubeconfig(_temp.Combine("kubeconfig")),
            ["Periscope__Collectors__Azure__Endpoint"] = _imds.BaseAddress.ToString(),
        }, "--host-root", _node.Path, "--out", store, "--node", NodeName);

        // The poller reads scheduled events before any run asks.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!_imds.Requests.Any(r => r.Path.StartsWith("/metadata/scheduledevents", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.True(_imds.Requests.Count > 0, agent.Stderr);
        using var accepted = await agent.PostRunAsync(Token, """{"runId":"aks-1","collectors":"azure"}""");
        await agent.WaitForLogAsync(new Regex("Run aks-1 sealed"));

        using var zip = ZipFile.OpenRead(Path.Combine(store, StoreLayout.BundlePath("aks-1", NodeName)));
        var manifestJson = await SchemaTests.ReadEntryAsync(zip, "manifest.json");
        var factsJson = await SchemaTests.ReadEntryAsync(zip, "facts.json");
        await SchemaTests.AssertValidAsync("manifest", manifestJson);
        await SchemaTests.AssertValidAsync("facts", factsJson);

        var manifest = JsonSerializer.Deserialize(manifestJson, BundleJsonContext.Default.Manifest)!;
        Assert.Equal("1.2", manifest.SchemaVersion);
        var node = manifest.Node;
        Assert.Equal(("spotpool", "user", "spot", "AKSUbuntu-2204gen2containerd-202411.12.0", "node", "westeurope-2"),
            (node.Pool, node.Mode, node.Priority, node.NodeImageVersion, node.LabelsFrom, node.Zone));
        Assert.Contains(_api.Requests, r => r.Kind == "get-node" && r.ResourceVersion == "0");

        var findings = JsonSerializer.Deserialize(await SchemaTests.ReadEntryAsync(zip, "findings.json"), BundleJsonContext.Default.FindingsDocument)!.Findings;
        var preempt = Assert.Single(findings, f => f.Code == "AZURE_EVENT_SCHEDULED");
        Assert.Equal(Severity.Critical, preempt.Severity);
        Assert.Contains(findings, f => f.Code == "SPOT_NODE");
        Assert.DoesNotContain("ssh-rsa", await SchemaTests.ReadEntryAsync(zip, "azure/compute.json"), StringComparison.Ordinal);
        Assert.All(_imds.Requests, r => Assert.Equal(("GET", "true"), (r.Method, r.Metadata)));
    }
}
