using System.Diagnostics;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Kubernetes;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Kubernetes;

/// <summary>The agent's read of its own Node object, against the fake Kubernetes API server; and what identity it gives.</summary>
public sealed class NodeObjectReaderTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> AksLabels = new()
    {
        ["kubernetes.azure.com/agentpool"] = "spotpool",
        ["kubernetes.azure.com/mode"] = "user",
        ["kubernetes.azure.com/priority"] = "spot",
        ["node.kubernetes.io/instance-type"] = "Standard_D8s_v5",
        ["topology.kubernetes.io/zone"] = "westeurope-3",
        ["kubernetes.azure.com/node-image-version"] = "AKSUbuntu-2204gen2containerd-202411.12.0",
    };

    private readonly TempDirectory _temp = new();
    private FakeKubernetesApi _api = null!;

    public async ValueTask InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _api.PutNode("aks-spotpool-1-vmss000000", AksLabels);
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task ReadsItsOwnNode_FromTheCache_AndTheIdentityPrefersItsLabelsToTheKubeletFlags()
    {
        var read = await Reader().ReadAsync("aks-spotpool-1-vmss000000", TestContext.Current.CancellationToken);

        Assert.Null(read.Error);
        var request = Assert.Single(_api.Requests);
        Assert.Equal(("get-node", "0"), (request.Kind, request.ResourceVersion)); // resourceVersion=0: the API server's cache

        using var root = new NodeRoot().File("/etc/os-release", "PRETTY_NAME=\"Ubuntu 22.04.5 LTS\"\n");
        var kubeletFlags = new KubeletFacts { NodeLabels = new Dictionary<string, string> { ["kubernetes.azure.com/agentpool"] = "stale-flag-pool" } };
        var identity = await NodeIdentityResolver.ResolveAsync("aks-spotpool-1-vmss000000", new HostRoot(root.Path),
            [new CollectorResult { Name = "kubelet", Status = Bundle.CollectorStatus.Ok, Facts = kubeletFlags }], read.Labels, read.Error, TestContext.Current.CancellationToken,
            read.Unschedulable);
        Assert.Equal(("spotpool", "user", "spot", "Standard_D8s_v5", "westeurope-3", "AKSUbuntu-2204gen2containerd-202411.12.0", "node"),
            (identity.Pool, identity.Mode, identity.Priority, identity.InstanceType, identity.Zone, identity.NodeImageVersion, identity.LabelsFrom));
        Assert.Null(identity.NodeObjectError);
        Assert.False(identity.Cordoned);
    }

    [Fact]
    public async Task ACordonedNode_IsRecordedAsCordoned_AndAnUnreadNodeObjectLeavesItUnknown()
    {
        _api.PutNode("aks-spotpool-1-vmss000000", AksLabels, unschedulable: true);
        var read = await Reader().ReadAsync("aks-spotpool-1-vmss000000", TestContext.Current.CancellationToken);
        Assert.True(read.Unschedulable);

        using var root = new NodeRoot().Dir("/etc");
        var identity = await NodeIdentityResolver.ResolveAsync("aks-spotpool-1-vmss000000", new HostRoot(root.Path), [], read.Labels, read.Error,
            TestContext.Current.CancellationToken, read.Unschedulable);
        Assert.True(identity.Cordoned);

        var unread = await NodeIdentityResolver.ResolveAsync("aks-spotpool-1-vmss000000", new HostRoot(root.Path), [], null, "forbidden",
            TestContext.Current.CancellationToken, unschedulable: true);
        Assert.Null(unread.Cordoned);
    }

    [Fact]
    public async Task WithoutTheNodeObject_TheKubeletFlagsThenTheMetadataServiceFillIn_AndTheReasonIsKept()
    {
        using var root = new NodeRoot().Dir("/etc");
        var kubelet = new KubeletFacts { NodeLabels = new Dictionary<string, string> { ["kubernetes.azure.com/agentpool"] = "nodepool1" } };
        var azure = new AzureFacts { Compute = new AzureComputeFacts { VmSize = "Standard_D4s_v5", Location = "westeurope", Zone = "2", Priority = "Regular" } };
        var identity = await NodeIdentityResolver.ResolveAsync("n1", new HostRoot(root.Path),
            [new CollectorResult { Name = "kubelet", Status = Bundle.CollectorStatus.Ok, Facts = kubelet }, new CollectorResult { Name = "azure", Status = Bundle.CollectorStatus.Ok, Facts = azure }],
            null, "not in a Kubernetes pod", TestContext.Current.CancellationToken);

        Assert.Equal(("nodepool1", "kubelet-flags", "Standard_D4s_v5", "westeurope-2", "regular", "not in a Kubernetes pod"),
            (identity.Pool, identity.LabelsFrom, identity.InstanceType, identity.Zone, identity.Priority, identity.NodeObjectError));
        Assert.Null(identity.Mode);
    }

    [Fact]
    public async Task Forbidden_SaysWhichPermissionIsMissing()
    {
        _api.ForcedStatus = 403;
        var read = await Reader().ReadAsync("aks-spotpool-1-vmss000000", TestContext.Current.CancellationToken);

        Assert.Null(read.Labels);
        Assert.Contains("get on nodes", read.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HungApi_GivesUpAtTheDeadline()
    {
        _api.Hang = true;
        var clock = Stopwatch.StartNew();
        var read = await Reader(TimeSpan.FromMilliseconds(500)).ReadAsync("aks-spotpool-1-vmss000000", TestContext.Current.CancellationToken);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Contains("did not answer within 0.5 s", read.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Off_AsksNothing_AndAutoNeedsAPodOrAKubeconfig()
    {
        var read = await new NodeObjectReader(Options.Create(new NodeObjectOptions { Read = "off", Kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig")) }))
            .ReadAsync("aks-spotpool-1-vmss000000", TestContext.Current.CancellationToken);

        Assert.NotNull(read.Error);
        Assert.Empty(_api.Requests);
        Assert.False(new NodeObjectOptions().IsOn(_ => null));
        Assert.True(new NodeObjectOptions().IsOn(name => name == "KUBERNETES_SERVICE_HOST" ? "10.0.0.1" : null));
        Assert.True(new NodeObjectOptions { Kubeconfig = "/k" }.IsOn(_ => null));
    }

    private NodeObjectReader Reader(TimeSpan? timeout = null)
        => new(Options.Create(new NodeObjectOptions { Kubeconfig = _api.WriteKubeconfig(_temp.Combine("kubeconfig")), Timeout = timeout ?? TimeSpan.FromSeconds(5) }));
}
