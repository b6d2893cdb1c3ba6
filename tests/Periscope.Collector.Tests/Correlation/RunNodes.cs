using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Collector.Correlation;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Tests.Correlation;

/// <summary>Nodes of a run as the source returns them, built in memory for the rules' tests.</summary>
internal static class RunNodes
{
    public static NodeBundle Node(
        string name,
        string? pool = "pool-a",
        IReadOnlyList<Finding>? findings = null,
        DnsFacts? dns = null,
        string kubelet = "v1.31.2",
        string runtime = "containerd://1.7.27",
        string kernel = "6.8.0-1021-azure",
        string os = "Ubuntu 24.04.2 LTS",
        IReadOnlyList<CollectorRecord>? collectors = null,
        CniFacts? cni = null,
        TimeSyncFacts? timeSync = null,
        DateTimeOffset? receivedAt = null)
        => new()
        {
            Node = name,
            BundlePath = StoreLayout.BundlePath("run-1", name),
            Manifest = new Manifest
            {
                RunId = "run-1",
                Node = new NodeIdentity { Name = name, Pool = pool, KubeletVersion = kubelet, RuntimeVersion = runtime, KernelVersion = kernel, OsImage = os },
                Agent = "periscope-agent/test",
                StartedAt = new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero),
                EndedAt = new DateTimeOffset(2026, 11, 30, 10, 0, 3, TimeSpan.Zero),
                Collectors = collectors ?? [new CollectorRecord { Name = "kernel", Status = CollectorStatus.Ok }],
            },
            ReceivedAt = receivedAt,
            Facts = new FactsDocument { Dns = dns, Cni = cni, System = timeSync is null ? null : new SystemFacts { TimeSync = timeSync } },
            Findings = new FindingsDocument { Findings = findings ?? [] },
        };

    public static NodeBundle Incomplete(string name) => new() { Node = name, BundlePath = StoreLayout.BundlePath("run-1", name), Incomplete = true, Rejected = "no status record" };

    public static NodeBundle Rejected(string name, string reason) => new() { Node = name, BundlePath = StoreLayout.BundlePath("run-1", name), Rejected = reason };

    public static Finding Finding(string code, string node, Severity severity = Severity.Warning, int line = 7, string collector = "kernel", DateTimeOffset? first = null, DateTimeOffset? last = null, long count = 1) => new()
    {
        Code = code,
        Severity = severity,
        Title = code,
        Collector = collector,
        FirstSeen = first,
        LastSeen = last,
        Count = count,
        Subject = new FindingSubject(SubjectKind.Node, node),
        Evidence = [new EvidenceReference("kernel/kmsg.log", line)],
    };

    public static DnsFacts ClusterDns(string server, string outcome, string? rcode = "NoError")
        => new()
        {
            ClusterDns = [server],
            Probes =
            [
                new DnsProbeFacts { Server = server, Role = "cluster-dns", Name = "kubernetes.default.svc.cluster.local", Outcome = outcome, Rcode = outcome == "answered" ? rcode : null },
                new DnsProbeFacts { Server = "168.63.129.16", Role = "resolv.conf", Name = "registry.k8s.io", Outcome = "answered", Rcode = "NoError" },
            ],
        };

    public static CorrelationContext Context(IReadOnlyList<NodeBundle> nodes, PreviousRun? previous = null, CorrelationOptions? options = null, ExpectedNodes? expected = null)
        => new("run-1", nodes, previous, options ?? new CorrelationOptions(), expected);
}
