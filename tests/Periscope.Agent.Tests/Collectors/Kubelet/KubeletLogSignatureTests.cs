using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Analysis;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Kubelet;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Kubelet;

/// <summary>The kubelet signature table against log lines in the formats kubelets write.</summary>
public sealed class KubeletRuleTableTests
{
    [Theory]
    [InlineData("I1120 10:00:00.000000 1234 kubelet.go:2400] \"Skipping pod synchronization\" err=\"PLEG is not healthy: pleg was last seen active 3m0.5s ago; threshold is 3m0s\"", "KUBELET_PLEG_UNHEALTHY")]
    [InlineData("E1120 10:00:00.000000 1234 kuberuntime_sandbox.go:72] \"Failed to create sandbox for pod\" err=\"rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\\\"azure-vnet\\\" failed (add): IPAM Invoker Add failed\" pod=\"shop/web-1\"", "KUBELET_SANDBOX_CREATE_FAILED")]
    [InlineData("E1120 10:00:00.000000 1234 kuberuntime_manager.go:1166] \"CreatePodSandbox for pod failed\" err=\"context deadline exceeded\" pod=\"kube-system/coredns-5d78c9869d-abcde\"", "KUBELET_SANDBOX_CREATE_FAILED")]
    [InlineData("E1120 10:00:00.000000 1234 kubelet.go:1511] \"Image garbage collection failed multiple times in a row\" err=\"invalid capacity 0 on image filesystem\"", "KUBELET_IMAGEFS_UNAVAILABLE")]
    [InlineData("E1120 10:00:00.000000 1234 eviction_manager.go:258] \"Eviction manager: failed to get summary stats\" err=\"failed to get imageFs stats: rpc error: code = Unavailable\"", "KUBELET_IMAGEFS_UNAVAILABLE")]
    [InlineData("I1120 10:00:00.000000 1234 eviction_manager.go:366] \"Eviction manager: attempting to reclaim\" resourceName=\"memory\"", "KUBELET_EVICTING")]
    [InlineData("I1120 10:00:00.000000 1234 eviction_manager.go:349] eviction manager: attempting to reclaim nodefs", "KUBELET_EVICTING")]
    [InlineData("I1120 10:00:00.000000 1234 setters.go:568] \"Node became not ready\" node=\"aks-nodepool1-1\" condition={\"type\":\"Ready\",\"status\":\"False\",\"lastHeartbeatTime\":\"2025-11-20T10:00:00Z\",\"lastTransitionTime\":\"2025-11-20T10:00:00Z\",\"reason\":\"KubeletNotReady\",\"message\":\"container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady\"}", "KUBELET_NODE_NOT_READY")]
    [InlineData("E1120 10:00:00.000000 1234 kubelet_node_status.go:549] \"Error updating node status, will retry\" err=\"error getting node \\\"aks-nodepool1-1\\\": Get \\\"https://cluster-dns-abc.hcp.westeurope.azmk8s.io:443/api/v1/nodes/aks-nodepool1-1?timeout=10s\\\": dial tcp 20.1.2.3:443: i/o timeout\"", "KUBELET_API_UNREACHABLE")]
    [InlineData("E1120 10:00:00.000000 1234 reflector.go:147] k8s.io/client-go/informers/factory.go:159: Failed to watch *v1.Service: failed to list *v1.Service: Unauthorized", "KUBELET_API_UNREACHABLE")]
    [InlineData("E1120 10:00:00.000000 1234 controller.go:145] \"Failed to ensure lease exists, will retry\" err=\"Get \\\"https://10.0.0.1:443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1\\\": x509: certificate has expired or is not yet valid\" interval=\"7s\"", "KUBELET_API_UNREACHABLE")]
    public void Match_KnownKubeletLine_IsItsSignature(string line, string code)
    {
        var match = KubeletLogSignatures.Default.Match(line);

        Assert.NotNull(match);
        Assert.Equal(code, match.Rule.Code);
    }

    [Theory]
    [InlineData("I1120 10:00:00.000000 1234 kubelet.go:2400] \"Skipping pod synchronization\" err=\"PLEG is not healthy: pleg has yet to be successful\"")]
    [InlineData("I1120 10:00:00.000000 1234 setters.go:568] \"Node became not ready\" node=\"n1\" condition={\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"KubeletNotReady\",\"message\":\"container runtime status check may not have completed yet\"}")]
    [InlineData("I1120 10:00:00.000000 1234 kubelet_node_status.go:76] \"Attempting to register node\" node=\"n1\"")]
    [InlineData("I1120 10:00:00.000000 1234 eviction_manager.go:292] \"Eviction manager: synchronize pod eviction\"")]
    [InlineData("I1120 10:00:00.000000 1234 kuberuntime_manager.go:1000] \"Creating PodSandbox for pod\" pod=\"shop/web-1\"")]
    public void Match_StartUpAndRoutineLines_AreNotSignatures(string line)
    {
        Assert.Null(KubeletLogSignatures.Default.Match(line));
    }

    [Fact]
    public void Match_SandboxFailure_NamesThePodAndTheError()
    {
        var match = KubeletLogSignatures.Default.Match(
            "E1120 10:00:00.000000 1 kuberuntime_sandbox.go:72] \"Failed to create sandbox for pod\" err=\"rpc error: code = Unknown desc = failed to setup network\" pod=\"shop/web-1\"")!;

        Assert.Equal(new FindingSubject(SubjectKind.Pod, "shop/web-1"), match.Subject(new FindingSubject(SubjectKind.Node, "n")));
        Assert.Equal("rpc error: code = Unknown desc = failed to setup network", match.Attributes()["error"]);
    }

    [Fact]
    public void Match_ApiServerUnreachable_NamesTheServerAndTheError()
    {
        var match = KubeletLogSignatures.Default.Match(
            "E1120 10:00:00.000000 1 kubelet_node_status.go:549] \"Error updating node status, will retry\" err=\"error getting node \\\"n1\\\": Get \\\"https://api.example:443/api/v1/nodes/n1?timeout=10s\\\": dial tcp 10.0.0.1:443: connect: connection refused\"")!;

        var attributes = match.Attributes();
        Assert.Equal("api.example:443", attributes["server"]);
        Assert.StartsWith("dial tcp 10.0.0.1:443", attributes["error"], StringComparison.Ordinal);
    }

    [Fact]
    public void Match_EvictionAndNotReady_CarryTheResourceAndTheReason()
    {
        Assert.Equal("memory", KubeletLogSignatures.Default.Match("\"Eviction manager: attempting to reclaim\" resourceName=\"memory\"")!.Attributes()["resource"]);
        var notReady = KubeletLogSignatures.Default.Match("\"Node became not ready\" node=\"n1\" condition={\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"KubeletNotReady\",\"message\":\"PLEG is not healthy\"}")!;
        Assert.Equal("KUBELET_NODE_NOT_READY", notReady.Rule.Code);
        Assert.Equal(("KubeletNotReady", "PLEG is not healthy"), (notReady.Attributes()["reason"], notReady.Attributes()["message"]));
    }
}

/// <summary>Signatures over a real journal and over a plain log file.</summary>
public sealed class KubeletLogTests
{
    private const long Start = 1_763_632_800; // 2025-11-20T10:00:00Z

    [Fact]
    public async Task Collect_KubeletCrashLoopInJournal_RaisesRestartsFrequentAndTakesTheVersionFromItsStartLine()
    {
        using var root = new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n").Dir("/proc");
        var entries = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            entries.Add(TestJournal.Entry(Start + (i * 60), "Started kubelet.service - kubelet: The Kubernetes Node Agent.", unit: "kubelet.service"));
            entries.Add(TestJournal.Entry(Start + (i * 60) + 1, "I1120 10:00:01.000000 1234 server.go:487] \"Kubelet version\" kubeletVersion=\"v1.29.2\"", unit: "kubelet.service"));
            entries.Add(TestJournal.Entry(Start + (i * 60) + 2, "E1120 10:00:02.000000 1234 run.go:74] \"command failed\" err=\"failed to load kubelet config file\"", unit: "kubelet.service"));
        }

        await TestJournal.WriteAsync(root, [.. entries]);

        var result = await RunAsync(root, new KubeletCollectorOptions());

        var restarts = Assert.Single(result.Observations, o => o.Code == "KUBELET_RESTARTS_FREQUENT");
        Assert.Equal("6", restarts.Attributes["startsInWindow"]);
        Assert.Equal("v1.29.2", ((KubeletFacts)result.Facts!).Version);
        Assert.Equal(18, File.ReadAllLines(result.Files.Single(f => f.BundlePath == "kubelet/journal.log").StagedPath).Length);
    }

    [Fact]
    public async Task Collect_PlegStormInJournal_IsOneFindingWithItsCountAndEvidenceLines()
    {
        using var root = new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n").Dir("/proc");
        var entries = new List<string>();
        for (var i = 0; i < 400; i++)
        {
            entries.Add(TestJournal.Entry(Start + (i * 5), "I1120 10:00:00.000000 1234 kubelet.go:2400] \"Skipping pod synchronization\" err=\"PLEG is not healthy: pleg was last seen active 3m5s ago; threshold is 3m0s\"", unit: "kubelet.service"));
            entries.Add(TestJournal.Entry(Start + (i * 5) + 1, "I1120 10:00:01.000000 1234 kubelet.go:2000] \"SyncLoop (housekeeping)\"", unit: "kubelet.service"));
        }

        entries.Add(TestJournal.Entry(Start + 2500, "E1120 10:41:40.000000 1234 kuberuntime_sandbox.go:72] \"Failed to create sandbox for pod\" err=\"failed to setup network\" pod=\"shop/web-1\"", unit: "kubelet.service"));
        await TestJournal.WriteAsync(root, [.. entries]);

        var result = await RunAsync(root, new KubeletCollectorOptions());

        var findings = FindingAggregator.Aggregate(result.Observations.Select(o => ("kubelet", o)));
        var pleg = Assert.Single(findings, f => f.Code == "KUBELET_PLEG_UNHEALTHY");
        Assert.Equal(400, pleg.Count);
        Assert.Equal((DateTimeOffset.FromUnixTimeSeconds(Start), DateTimeOffset.FromUnixTimeSeconds(Start + (399 * 5))), (pleg.FirstSeen!.Value, pleg.LastSeen!.Value));
        Assert.Equal("3m5s", pleg.Attributes["lastSeen"]);
        var journal = File.ReadAllLines(result.Files.Single(f => f.BundlePath == "kubelet/journal.log").StagedPath);
        Assert.Equal(801, journal.Length);
        Assert.All(pleg.Evidence, e => Assert.Contains("PLEG is not healthy", journal[e.Line!.Value - 1], StringComparison.Ordinal));
        Assert.Equal(1, pleg.Evidence[0].Line); // the first, then the most recent
        Assert.Equal(799, pleg.Evidence[^1].Line);
        Assert.True(result.Observations.Count < 50, $"{result.Observations.Count} observations: a storm is folded in the collector");

        var sandbox = Assert.Single(findings, f => f.Code == "KUBELET_SANDBOX_CREATE_FAILED");
        Assert.Equal(new FindingSubject(SubjectKind.Pod, "shop/web-1"), sandbox.Subject);
        var log = ((KubeletFacts)result.Facts!).Log!;
        Assert.Equal(("journal", 801L), (log.Source, log.Entries));
        Assert.Equal(400, log.Signatures["KUBELET_PLEG_UNHEALTHY"]);
    }

    [Fact]
    public async Task Collect_JournalLongerThanTheEntryLimit_KeepsTheNewestEntries()
    {
        using var root = new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n").Dir("/proc");
        var entries = Enumerable.Range(0, 300).Select(i => TestJournal.Entry(Start + i, $"I1120 10:00:00.000000 1 x.go:1] \"line {i}\"", unit: "kubelet.service")).ToArray();
        await TestJournal.WriteAsync(root, entries);

        var result = await RunAsync(root, new KubeletCollectorOptions { JournalMaxEntries = 100 });

        var journal = File.ReadAllLines(result.Files.Single(f => f.BundlePath == "kubelet/journal.log").StagedPath);
        Assert.Equal(100, journal.Length);
        Assert.EndsWith("\"line 200\"", journal[0], StringComparison.Ordinal);
        Assert.EndsWith("\"line 299\"", journal[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_NoJournal_ReadsThePlainLogFileInTheWindow()
    {
        using var root = new NodeRoot()
            .File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n")
            .Dir("/proc")
            .File("/var/log/kubelet.log", string.Join('\n',
                "I1119 09:00:00.000000 1234 kubelet.go:2400] \"Skipping pod synchronization\" err=\"PLEG is not healthy: pleg was last seen active 4m0s ago; threshold is 3m0s\"", // before the window
                "I1120 10:00:00.000000 1234 server.go:487] \"Kubelet version\" kubeletVersion=\"v1.30.4\"",
                "not a klog line \x01\x02 garbage",
                "I1120 10:05:00.000000 1234 eviction_manager.go:366] \"Eviction manager: attempting to reclaim\" resourceName=\"ephemeral-storage\"",
                "2025-11-20T10:06:00.000000+00:00 node kubelet[1234]: E1120 10:06:00.000000 1234 kuberuntime_sandbox.go:72] \"Failed to create sandbox for pod\" err=\"x\" pod=\"a/b\"",
                "I1121 12:00:00.000000 1234 kubelet.go:2400] \"after the window\"",
                ""));

        var result = await RunAsync(root, new KubeletCollectorOptions());

        var facts = (KubeletFacts)result.Facts!;
        Assert.Equal("/var/log/kubelet.log", facts.Log!.Source);
        Assert.Equal(4, facts.Log.Entries); // version, garbage (no time: kept), eviction, sandbox
        Assert.Equal("v1.30.4", facts.Version);
        Assert.DoesNotContain(result.Observations, o => o.Code == "KUBELET_PLEG_UNHEALTHY");
        var eviction = Assert.Single(result.Observations, o => o.Code == "KUBELET_EVICTING");
        Assert.Equal("ephemeral-storage", eviction.Attributes["resource"]);
        Assert.Equal(DateTimeOffset.Parse("2025-11-20T10:05:00Z", global::System.Globalization.CultureInfo.InvariantCulture), eviction.Time);
        Assert.Single(result.Observations, o => o.Code == "KUBELET_SANDBOX_CREATE_FAILED" && o.Subject.Id == "a/b");
        Assert.Contains("no journal directory", facts.Log.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_NoJournalAndNoLogFile_RecordsWhyAndStillSucceeds()
    {
        using var root = new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n").Dir("/proc");

        var result = await RunAsync(root, new KubeletCollectorOptions());

        var log = ((KubeletFacts)result.Facts!).Log!;
        Assert.Equal((null, 0L), (log.Source, log.Entries));
        Assert.NotNull(log.Problem);
        Assert.DoesNotContain(result.Files, f => f.BundlePath == "kubelet/journal.log");
    }

    private static Task<CollectorResult> RunAsync(NodeRoot root, KubeletCollectorOptions options)
        => CollectorHarness.RunAsync(
            new KubeletCollector(Options.Create(options), NullLogger<KubeletCollector>.Instance),
            new HostRoot(root.Path),
            DateTimeOffset.FromUnixTimeSeconds(Start - 60), DateTimeOffset.FromUnixTimeSeconds(Start + 3600), offline: true);
}
