using System.Globalization;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Periscope.EndToEnd.Tests.Pod;

[CollectionDefinition(Name)]
public sealed class ShippedImages : ICollectionFixture<AgentPodFixture>
{
    public const string Name = "shipped images in containerd";
}

/// <summary>
/// The DaemonSet's pod, for real: the agent image from the Dockerfile, started through the CRI of a real containerd
/// with exactly what the rendered dev overlay asks for (mounts and their read-only flags, capabilities, user,
/// seccomp, no privilege escalation, read-only root, host network), probed as the kubelet probes it, triggered
/// through the run-id ConfigMap it watches with its service account, and judged by its sealed bundle and by what
/// its process holds (/proc/PID/mountinfo and status). A manifest that takes away a needed mount or capability, or
/// adds privilege, fails the same judgement.
/// </summary>
[Collection(ShippedImages.Name)]
public sealed class AgentPodTests(AgentPodFixture fixture)
{
    private const string NodeName = "periscope-pod-node";
    private const long CapNetAdmin = 1L << 12;
    private const long CapSyslog = 1L << 34;

    [Fact]
    public async Task DaemonSetPod_AsTheDevOverlayShipsIt_CollectsEverythingWithOnlyItsOwnPrivileges()
    {
        fixture.Require();

        using var directory = new TempDirectory("periscope-agent-pod");
        var run = await RunAgentAsync(directory, _ => { });
        TestContext.Current.TestOutputHelper?.WriteLine(run.Describe());

        Assert.True(run.Failures.Count == 0, run.Describe());
        Assert.True(run.Pod.StartToReady < TimeSpan.FromSeconds(30), run.Describe());
    }

    [Theory]
    [InlineData("without SYSLOG", "kernel:")]
    [InlineData("without NET_ADMIN", "cni:")]
    [InlineData("without the containerd socket", "containerd:")]
    [InlineData("privileged", "privilege:")]
    public async Task DaemonSetPod_WithAManifestChange_FailsTheJudgement(string change, string expected)
    {
        fixture.Require();

        using var directory = new TempDirectory("periscope-agent-pod");
        var run = await RunAgentAsync(directory, spec => Change(spec, change));
        TestContext.Current.TestOutputHelper?.WriteLine(run.Describe());

        Assert.True(run.Failures.Any(f => f.StartsWith(expected, StringComparison.Ordinal)), $"{change}: expected a '{expected}' failure.\n{run.Describe()}");
    }

    private static void Change(YamlMappingNode spec, string change)
    {
        var container = (YamlMappingNode)KubeletPod.Seq(spec, "containers")[0];
        var security = KubeletPod.Map(container, "securityContext")!;
        var add = (YamlSequenceNode)KubeletPod.Map(security, "capabilities")!.Children[new YamlScalarNode("add")];
        switch (change)
        {
            case "without SYSLOG":
                add.Children.Remove(add.Children.Single(n => ((YamlScalarNode)n).Value == "SYSLOG"));
                break;
            case "without NET_ADMIN":
                add.Children.Remove(add.Children.Single(n => ((YamlScalarNode)n).Value == "NET_ADMIN"));
                break;
            case "without the containerd socket":
                var mounts = (YamlSequenceNode)container.Children[new YamlScalarNode("volumeMounts")];
                mounts.Children.Remove(mounts.Children.Single(n => KubeletPod.Text((YamlMappingNode)n, "mountPath")!.EndsWith("containerd.sock", StringComparison.Ordinal)));
                break;
            case "privileged":
                security.Children[new YamlScalarNode("privileged")] = new YamlScalarNode("true");
                security.Children[new YamlScalarNode("allowPrivilegeEscalation")] = new YamlScalarNode("true");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change, null);
        }
    }

    [Fact]
    public async Task CollectorPod_AsTheDevOverlayShipsIt_ServesTheReportOfTheAgentPodsBundle()
    {
        fixture.Require();
        await fixture.EnsurePodNetworkAsync();
        using var directory = new TempDirectory("periscope-collector-pod");
        var agent = await RunAgentAsync(directory, _ => { });
        Assert.True(agent.RunId is not null && agent.Failures.Count == 0, agent.Describe());

        // The image runs as a non-root user of its own; the dev overlay asks for uid 0 to read the agent's 0600 bundles.
        Assert.Equal("1654:1654", OciArchive.User(AgentPodFixture.ImageArchive("collector")));

        var workload = await KubeletPod.RenderAsync("dev", "Deployment", "periscope-collector");
        const string OperatorToken = "operator-token-for-the-pod-test";
        var node = new PodNode(directory.Combine("collector-node"), NodeName)
        {
            HostPaths = { ["/var/lib/periscope/spool"] = directory.Combine("spool", "spool") },
            Secrets = { ["periscope-operator-token"] = new() { ["token"] = OperatorToken } },
        };
        var (anonymous, report, uid, log) = await fixture.WithPodAsync(workload, node, async pod =>
        {
            Assert.True(pod.Ready, $"the collector never answered its readiness probe at {pod.Address}\n{pod.Log}");
            using var http = new HttpClient { BaseAddress = new Uri($"http://{pod.Address}:8080"), Timeout = TimeSpan.FromSeconds(30) };
            using var refused = await http.GetAsync($"/api/runs/{agent.RunId}/report");
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{agent.RunId}/report");
            request.Headers.Authorization = new("Bearer", OperatorToken);
            using var answered = await http.SendAsync(request);
            return (refused.StatusCode, await answered.Content.ReadAsStringAsync(), pod.Status("Uid"), pod.Log);
        });

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous);
        using var document = System.Text.Json.JsonDocument.Parse(report);
        Assert.Contains(NodeName, report, StringComparison.Ordinal);
        Assert.Equal(agent.RunId, document.RootElement.GetProperty("runId").GetString());
        Assert.StartsWith("0\t", uid, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", log, StringComparison.Ordinal);
    }

    private async Task<PodRun> RunAgentAsync(TempDirectory directory, Action<YamlMappingNode> change)
    {
        var workload = await KubeletPod.RenderAsync("dev", "DaemonSet", "periscope-agent");
        change(KubeletPod.PodSpec(workload));
        var spool = directory.Combine("spool");
        var node = fixture.AgentNode(directory.Path, NodeName, spool);
        var runId = "pod-" + Guid.NewGuid().ToString("N")[..10];
        var status = Path.Combine(spool, "spool", runId, NodeName + ".status.json");
        var bundle = Path.Combine(spool, "spool", runId, NodeName + ".zip");

        var run = await fixture.WithPodAsync(workload, node, async pod =>
        {
            var result = new PodRun(pod) { RunId = runId };
            if (pod.Pod.Readiness is not null && !pod.Ready)
            {
                result.Failures.Add($"readiness: {pod.Pod.Readiness} never answered");
                result.Log = pod.Log;
                return result;
            }

            fixture.Api.Put("periscope-run", new Dictionary<string, string> { ["runId"] = runId });
            try
            {
                var deadline = DateTime.UtcNow.AddSeconds(120);
                while (!File.Exists(status) && DateTime.UtcNow < deadline && Directory.Exists($"/proc/{pod.ProcessId}"))
                {
                    await Task.Delay(100);
                }

                result.Mounts = pod.MountOptions();
                result.CapEff = pod.Status("CapEff");
                result.NoNewPrivs = pod.Status("NoNewPrivs");
                result.Seccomp = pod.Status("Seccomp");
            }
            finally
            {
                fixture.Api.Delete("periscope-run");
            }

            result.Log = pod.Log;
            return result;
        });

        run.Written = node.EmptyDirs.SelectMany(d => Directory.EnumerateFileSystemEntries(d, "*", SearchOption.AllDirectories)).ToList();
        if (!File.Exists(status) || !File.Exists(bundle))
        {
            run.Failures.Add($"bundle: no sealed bundle for run {runId} in the spool within 120 s");
            Judge(run, null);
            return run;
        }

        using var reader = BundleReader.Open(File.OpenRead(bundle), NodeName);
        Judge(run, reader);
        return run;
    }

    /// <summary>Everything the agent's pod must achieve with what the manifest grants, and nothing more it may hold.</summary>
    private static void Judge(PodRun run, BundleReader? reader)
    {
        var failures = run.Failures;
        var pod = run.Pod;

        // What the process holds: exactly the two capabilities it needs, no escalation, the runtime's seccomp filter.
        var capabilities = run.CapEff is null ? -1 : long.Parse(run.CapEff, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if (capabilities != (CapSyslog | CapNetAdmin))
        {
            failures.Add($"privilege: effective capabilities {run.CapEff}, expected exactly CAP_SYSLOG and CAP_NET_ADMIN ({CapSyslog | CapNetAdmin:x16})");
        }

        if (run.NoNewPrivs != "1" || run.Seccomp != "2")
        {
            failures.Add($"privilege: NoNewPrivs {run.NoNewPrivs}, Seccomp {run.Seccomp}; expected 1 and 2 (filter)");
        }

        // What it sees mounted: the root file system and every mount the manifest marks read-only are read-only.
        if (run.Mounts.Count > 0)
        {
            if (!ReadOnly(run.Mounts, "/"))
            {
                failures.Add($"mounts: the root file system is writable ({run.Mounts.GetValueOrDefault("/")})");
            }

            foreach (var mount in pod.Pod.Mounts)
            {
                if (!run.Mounts.TryGetValue(mount.MountPath, out var options))
                {
                    failures.Add($"mounts: {mount.MountPath} ({mount.Volume}) is not mounted");
                }
                else if (mount.ReadOnly != ReadOnly(run.Mounts, mount.MountPath))
                {
                    failures.Add($"mounts: {mount.MountPath} is {options}, the manifest says readOnly: {mount.ReadOnly}");
                }
            }
        }

        if (run.Written.Count > 0)
        {
            failures.Add($"writes: left outside the spool: {string.Join(", ", run.Written)}");
        }

        if (reader is null)
        {
            return;
        }

        var facts = reader.ReadFacts();
        foreach (var collector in reader.Manifest.Collectors.Where(c => c.Status == CollectorStatus.Failed))
        {
            failures.Add($"collectors: {collector.Name} failed: {collector.Error}");
        }

        if (facts.Kernel is not { Source: "syslog", Records: > 0 } kernel)
        {
            failures.Add($"kernel: read through {facts.Kernel?.Source ?? "nothing"} ({string.Join("; ", facts.Kernel?.SourceErrors ?? [])}), expected syslog(2) with CAP_SYSLOG");
        }

        var containerd = facts.Containerd;
        if (containerd?.Reachability != "ok")
        {
            failures.Add($"containerd: {containerd?.Reachability ?? "no facts"} through {containerd?.Socket}");
        }
        else if (!containerd.Sandboxes.Any(s => s.Namespace == "periscope" && s.Pod == pod.Name)
                 || !containerd.Containers.Any(c => c.Pod == pod.Name && c.Name == pod.Pod.Container.Metadata.Name && c.State == "running"))
        {
            failures.Add($"containerd: the agent's own pod {pod.Name} is not among the {containerd.Sandboxes.Count} sandboxes listed");
        }

        var nodeProcesses = Directory.EnumerateDirectories("/proc").Count(d => int.TryParse(Path.GetFileName(d), out _));
        if (facts.System?.KernelRelease != File.ReadAllText("/proc/sys/kernel/osrelease").Trim()
            || facts.System.Pids is not { } pids || pids.InUse < nodeProcesses / 2)
        {
            failures.Add($"system: kernel {facts.System?.KernelRelease}, {facts.System?.Pids?.InUse} processes; the node has {nodeProcesses}");
        }

        // Routes come from /proc/net of the agent's own network namespace: only the node's shows the node's default
        // route (other tests running meanwhile add and remove bridges, so the rest of the table may have changed).
        var nodeRoutes = File.ReadLines("/proc/net/route").Skip(1).Select(l => l.Split('\t')).Where(f => f.Length > 2).ToList();
        var nodeDefault = nodeRoutes.Where(f => f[1] == "00000000").Select(f => $"{f[0].Trim()} via {Gateway(f[2])}").ToHashSet();
        var seenRoutes = (facts.Cni?.Routes ?? []).Where(r => r.Family == "ipv4").ToList();
        var seenDefault = seenRoutes.Where(r => r.Destination == "0.0.0.0/0").Select(r => $"{r.Interface} via {r.Gateway ?? "0.0.0.0"}").ToHashSet();
        if (nodeDefault.Count > 0 ? !seenDefault.SetEquals(nodeDefault) : !seenRoutes.Any(r => nodeRoutes.Any(f => f[0].Trim() == r.Interface)))
        {
            failures.Add($"cni: default route through [{string.Join(",", seenDefault)}] of routes through [{string.Join(",", seenRoutes.Select(r => r.Interface).Distinct())}], the node's default is through [{string.Join(",", nodeDefault)}]");
        }

        foreach (var rules in (facts.Cni?.Rules ?? []).Where(r => r.Outcome != "ok"))
        {
            failures.Add($"cni: {rules.Tool} {rules.Outcome}");
        }

        // The image carries both iptables flavours and nft; each must have run.
        string[] tools = ["iptables-save", "ip6tables-save", "nft", "iptables-legacy-save", "ip6tables-legacy-save"];
        var ran = (facts.Cni?.Rules ?? []).Select(r => r.Tool).ToHashSet();
        if (tools.Except(ran).ToList() is { Count: > 0 } absent)
        {
            failures.Add($"cni: {string.Join(", ", absent)} did not run");
        }

        var probes = (facts.Dns?.Probes ?? []).Where(p => p.Server == AgentPodFixture.NameServer).ToList();
        if (probes.Count == 0 || probes.Any(p => p.Outcome != "answered"))
        {
            failures.Add($"dns: the node's name server {AgentPodFixture.NameServer}: {string.Join(", ", probes.Select(p => $"{p.Name} {p.Outcome} {p.Error}"))}");
        }
    }

    /// <summary>A /proc/net/route gateway (hexadecimal, in the kernel's byte order) as a dotted address.</summary>
    private static string Gateway(string hex)
        => new System.Net.IPAddress(BitConverter.GetBytes(uint.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture))).ToString();

    private static bool ReadOnly(IReadOnlyDictionary<string, string> mounts, string path)
        => mounts.TryGetValue(path, out var options) && options.Split(',').Contains("ro");

    private sealed class PodRun(RunningPod pod)
    {
        public RunningPod Pod { get; } = pod;

        public List<string> Failures { get; } = [];

        public string? RunId { get; init; }

        public IReadOnlyDictionary<string, string> Mounts { get; set; } = new Dictionary<string, string>();

        public string? CapEff { get; set; }

        public string? NoNewPrivs { get; set; }

        public string? Seccomp { get; set; }

        public IReadOnlyList<string> Written { get; set; } = [];

        public string Log { get; set; } = string.Empty;

        public string Describe()
            => $"{Pod}: ready in {Pod.StartToReady.TotalMilliseconds:F0} ms\n{string.Join("\n", Failures)}\n--- the agent's log ---\n{Log}";
    }
}
