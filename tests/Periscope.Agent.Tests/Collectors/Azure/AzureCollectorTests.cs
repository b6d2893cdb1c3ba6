using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.Azure;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Azure;

/// <summary>The azure collector against a fake Instance Metadata Service on loopback (the real one answers only on Azure VMs).</summary>
public sealed class AzureCollectorTests : IAsyncLifetime
{
    private const string VmName = "aks-nodepool1-12345678-vmss_0";
    private FakeInstanceMetadataService _imds = null!;

    public async ValueTask InitializeAsync() => _imds = await FakeInstanceMetadataService.StartAsync();

    public async ValueTask DisposeAsync() => await _imds.DisposeAsync();

    [Fact]
    public void Dmi_DecidesAzure_FromTheChassisAssetTag_NotTheVendorAlone()
    {
        using var azure = AzureNode();
        using var hyperV = new NodeRoot().File("/sys/class/dmi/id/sys_vendor", "Microsoft Corporation\n").File("/sys/class/dmi/id/chassis_asset_tag", "0000-0000\n");
        using var none = new NodeRoot().Dir("/etc");

        Assert.True(DmiIdentity.Read(new HostRoot(azure.Path)).IsAzure);
        Assert.False(DmiIdentity.Read(new HostRoot(hyperV.Path)).IsAzure);
        Assert.False(DmiIdentity.Read(new HostRoot(none.Path)).IsAzure);
        var collector = Collector(out _);
        Assert.True(collector.CheckSupport(new HostRoot(azure.Path)).IsSupported);
        var skipped = collector.CheckSupport(new HostRoot(none.Path));
        Assert.False(skipped.IsSupported);
        Assert.Contains("not an Azure VM", skipped.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegularVm_NoEvents_KeepsOnlyTheListedComputeFields_AndNoFinding()
    {
        using var root = AzureNode();
        var result = await CollectAsync(root);

        Assert.Equal(CollectorStatus.Ok, result.Status);
        Assert.Empty(result.Observations);
        var facts = Assert.IsType<AzureFacts>(result.Facts);
        Assert.Equal((VmName, "Standard_D4s_v5", "2", "westeurope", "Regular"), (facts.Compute!.Name, facts.Compute.VmSize, facts.Compute.Zone, facts.Compute.Location, facts.Compute.Priority));
        Assert.Null(facts.Compute.EvictionPolicy); // "" is absent
        Assert.Equal(0, facts.ScheduledEvents!.DocumentIncarnation);
        Assert.Empty(facts.ScheduledEvents.Events);
        Assert.Null(facts.ScheduledEventsError);

        // Keys, user data, the OS profile and the tags (a key vault URL among them) never reach the bundle.
        var compute = await File.ReadAllTextAsync(result.Files.Single(f => f.BundlePath == "azure/compute.json").StagedPath, TestContext.Current.CancellationToken);
        foreach (var secret in new[] { "ssh-rsa", "keyData", "publicKeys", "userData", "c2VjcmV0", "customData", "osProfile", "azureuser", "vault.azure.net", "tags" })
        {
            Assert.DoesNotContain(secret, compute, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Contains("Standard_D4s_v5", compute, StringComparison.Ordinal);
        Assert.All(_imds.Requests, r => Assert.Equal(("GET", "true"), (r.Method, r.Metadata)));
        Assert.Contains(_imds.Requests, r => r.Path == "/metadata/instance/compute?api-version=2025-04-07");
        Assert.Contains(_imds.Requests, r => r.Path == "/metadata/scheduledevents?api-version=2020-07-01");
    }

    [Fact]
    public async Task SpotVm_BeingPreempted_IsCriticalAndSaysAksDrainsIt_AndTheSpotFactIsInfo()
    {
        // Capitalised "Priority", as one documented sample has it; lower-case event keys, as another reader might see.
        _imds.Compute = FakeInstanceMetadataService.RegularCompute(VmName, "Spot", priorityKey: "Priority");
        _imds.ScheduledEvents = $$"""
            {"documentIncarnation": 7, "events": [
              {"eventId": "602d9444-d2cd-49c7-8624-8643e7171297", "eventType": "Preempt", "resourceType": "VirtualMachine",
               "resources": ["{{VmName}}"], "eventStatus": "Scheduled", "notBefore": "Mon, 07 Dec 2026 18:29:47 GMT",
               "description": "Spot eviction", "eventSource": "Platform", "durationInSeconds": -1}
            ]}
            """;
        using var root = AzureNode();
        var result = await CollectAsync(root);

        var preempt = Assert.Single(result.Observations, o => o.Code == "AZURE_EVENT_SCHEDULED");
        Assert.Equal(Severity.Critical, preempt.Severity);
        Assert.Contains("cordons and drains", preempt.Detail, StringComparison.Ordinal);
        Assert.Equal("2026-12-07T18:29:47Z", preempt.Attributes["notBefore"]);
        Assert.Equal("Preempt", preempt.Attributes["eventType"]);
        Assert.False(preempt.Attributes.ContainsKey("durationSeconds")); // -1: unknown
        Assert.Equal("azure/scheduledevents.json", preempt.Evidence!.File);
        var spot = Assert.Single(result.Observations, o => o.Code == "SPOT_NODE");
        Assert.Equal(Severity.Info, spot.Severity);
        var facts = Assert.IsType<AzureFacts>(result.Facts);
        Assert.Equal(7, facts.ScheduledEvents!.DocumentIncarnation);
        Assert.True(Assert.Single(facts.ScheduledEvents.Events).ThisVm);
    }

    [Theory]
    [InlineData("Terminate", Severity.Critical)]
    [InlineData("Redeploy", Severity.Critical)]
    [InlineData("Reboot", Severity.Warning)]
    [InlineData("Freeze", Severity.Warning)]
    public async Task EventForThisVm_HasTheSeverityOfItsType(string type, Severity severity)
    {
        _imds.ScheduledEvents = Events(type, VmName, "Mon, 07 Dec 2026 18:29:47 GMT", 9);
        using var root = AzureNode();
        var result = await CollectAsync(root);

        var finding = Assert.Single(result.Observations);
        Assert.Equal(("AZURE_EVENT_SCHEDULED", severity), (finding.Code, finding.Severity));
        Assert.Equal("9", finding.Attributes["durationSeconds"]);
        Assert.Equal(type is "Redeploy", finding.Detail!.Contains("cordons and drains", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EventForAnotherVmOfThePlacementGroup_IsRecorded_ButIsNoFinding()
    {
        _imds.ScheduledEvents = Events("Reboot", "aks-nodepool1-12345678-vmss_1", "Mon, 07 Dec 2026 18:29:47 GMT", 300);
        using var root = AzureNode();
        var result = await CollectAsync(root);

        Assert.Empty(result.Observations);
        Assert.False(Assert.Single(Assert.IsType<AzureFacts>(result.Facts).ScheduledEvents!.Events).ThisVm);
    }

    [Fact]
    public async Task StartedEvent_HasNoNotBefore_AndSaysStarted()
    {
        _imds.ScheduledEvents = Events("Freeze", VmName, "", 5, status: "Started");
        using var root = AzureNode();
        var result = await CollectAsync(root);

        var finding = Assert.Single(result.Observations);
        Assert.Contains("started", finding.Title, StringComparison.Ordinal);
        Assert.False(finding.Attributes.ContainsKey("notBefore"));
        Assert.Null(Assert.Single(Assert.IsType<AzureFacts>(result.Facts).ScheduledEvents!.Events).NotBefore);
    }

    [Fact]
    public async Task SlowFirstEventsCall_EndsTheCollectorAtItsWait_AndTheNextRunHasTheEvents()
    {
        _imds.FirstEventsDelay = TimeSpan.FromSeconds(3);
        _imds.ScheduledEvents = Events("Reboot", VmName, "Mon, 07 Dec 2026 18:29:47 GMT", 300);
        using var root = AzureNode();
        var collector = Collector(out _, o => o.EventsWait = TimeSpan.FromMilliseconds(500));

        var clock = Stopwatch.StartNew();
        var first = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2.5), $"the collector waited {clock.Elapsed} for the slow first call");
        Assert.Equal(CollectorStatus.Partial, first.Status);
        Assert.Contains("not yet available", Assert.IsType<AzureFacts>(first.Facts).ScheduledEventsError, StringComparison.Ordinal);
        Assert.DoesNotContain(first.Observations, o => o.Code == "AZURE_EVENT_SCHEDULED");
        Assert.NotNull(Assert.IsType<AzureFacts>(first.Facts).Compute); // the rest of the collector was not held up

        // The read went on in the background (its own, longer deadline); the next run finds its answer.
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        var second = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path));
        Assert.Equal(CollectorStatus.Ok, second.Status);
        Assert.Single(second.Observations, o => o.Code == "AZURE_EVENT_SCHEDULED");
    }

    [Fact]
    public async Task RefusedOnAzure_IsAFinding_NotASilentSkip()
    {
        using var root = AzureNode();
        var closed = ClosedPort();
        var collector = Collector(out _, o => o.Endpoint = new Uri($"http://127.0.0.1:{closed}"));

        var result = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path));

        var finding = Assert.Single(result.Observations);
        Assert.Equal(("AZURE_IMDS_UNREACHABLE", Severity.Warning), (finding.Code, finding.Severity));
        Assert.Contains("could not be reached", finding.Detail, StringComparison.Ordinal);
        Assert.Equal(CollectorStatus.Partial, result.Status);
        var facts = Assert.IsType<AzureFacts>(result.Facts);
        Assert.NotNull(facts.ComputeError);
        Assert.NotNull(facts.ScheduledEventsError);
    }

    [Fact]
    public async Task HangingOnAzure_EndsWithinTheRequestDeadline_WithAFinding()
    {
        _imds.Hang = true;
        using var root = AzureNode();
        var collector = Collector(out _, o =>
        {
            o.RequestTimeout = TimeSpan.FromMilliseconds(500);
            o.FirstEventsTimeout = TimeSpan.FromSeconds(1);
        });

        var clock = Stopwatch.StartNew();
        var result = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        var finding = Assert.Single(result.Observations);
        Assert.Equal("AZURE_IMDS_UNREACHABLE", finding.Code);
        Assert.Contains("did not answer within 0.5 s", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OffAzure_ThePollerSendsNothing()
    {
        // A listener that counts connections stands where the metadata service would be.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var root = new NodeRoot().File("/sys/class/dmi/id/sys_vendor", "QEMU\n");
        var options = Options.Create(new AzureCollectorOptions { Endpoint = new Uri($"http://127.0.0.1:{port}"), EventsPollInterval = TimeSpan.FromSeconds(1) });
        using var client = new InstanceMetadataClient(options);
        using var poller = new ScheduledEventsPoller(new ScheduledEventsSource(client, options, TimeProvider.System), new HostRoot(root.Path), options, TimeProvider.System);

        await poller.StartAsync(TestContext.Current.CancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);
        await poller.StopAsync(TestContext.Current.CancellationToken);

        Assert.False(listener.Pending(), "something connected to the metadata address off Azure");
        Assert.False(Collector(out _).CheckSupport(new HostRoot(root.Path)).IsSupported);
    }

    [Fact]
    public async Task OnAzure_ThePollerReadsEventsBeforeAnyRun()
    {
        using var root = AzureNode();
        var options = Options.Create(new AzureCollectorOptions { Endpoint = _imds.BaseAddress, EventsPollInterval = TimeSpan.FromSeconds(30) });
        using var client = new InstanceMetadataClient(options);
        var source = new ScheduledEventsSource(client, options, TimeProvider.System);
        using var poller = new ScheduledEventsPoller(source, new HostRoot(root.Path), options, TimeProvider.System);

        await poller.StartAsync(TestContext.Current.CancellationToken);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (source.Latest is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        await poller.StopAsync(TestContext.Current.CancellationToken);
        Assert.NotNull(source.Latest);
        Assert.Single(_imds.Requests, r => r.Path.StartsWith("/metadata/scheduledevents", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Offline_AsksNothing()
    {
        using var root = AzureNode();
        var result = await CollectorHarness.RunAsync(Collector(out _), new HostRoot(root.Path), offline: true);

        Assert.True(Assert.IsType<AzureFacts>(result.Facts).Offline);
        Assert.Empty(_imds.Requests);
    }

    private static string Events(string type, string resource, string notBefore, int duration, string status = "Scheduled") => $$"""
        {"DocumentIncarnation": 3, "Events": [
          {"EventId": "f020ba2e-3bc0-4c40-a10b-86575a9eabd5", "EventType": "{{type}}", "ResourceType": "VirtualMachine",
           "Resources": ["{{resource}}"], "EventStatus": "{{status}}", "NotBefore": "{{notBefore}}",
           "Description": "Host server is undergoing maintenance.", "EventSource": "Platform", "DurationInSeconds": {{duration}}}
        ]}
        """;

    private static NodeRoot AzureNode()
        => new NodeRoot()
            .File("/sys/class/dmi/id/sys_vendor", "Microsoft Corporation\n")
            .File("/sys/class/dmi/id/chassis_asset_tag", DmiIdentity.AzureChassisAssetTag + "\n");

    private static int ClosedPort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port; // closed again when disposed: connections are refused
    }

    private AzureCollector Collector(out ScheduledEventsSource source, Action<AzureCollectorOptions>? configure = null)
    {
        var o = new AzureCollectorOptions { Endpoint = _imds.BaseAddress };
        configure?.Invoke(o);
        var options = Options.Create(o);
        var client = new InstanceMetadataClient(options);
        source = new ScheduledEventsSource(client, options, TimeProvider.System);
        return new AzureCollector(client, source, options);
    }

    private Task<CollectorResult> CollectAsync(NodeRoot root) => CollectorHarness.RunAsync(Collector(out _), new HostRoot(root.Path));
}
