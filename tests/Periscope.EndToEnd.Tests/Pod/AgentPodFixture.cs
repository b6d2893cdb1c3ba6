using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Agent.Collection.Cri;
using Periscope.Agent.Tests.Collectors.Containerd;
using Periscope.Testing;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Periscope.EndToEnd.Tests.Pod;

/// <summary>
/// The shipped images in a real containerd, started through the CRI as the kubelet starts the DaemonSet's pod: a
/// private containerd (Debian's), the images built from the Dockerfile (scripts/images.sh, OCI archives imported
/// with <c>ctr images import</c>), a fake API server over TLS that the agent reaches with the service account token
/// the kubelet would mount, and dnsmasq on a loopback address that the node's resolv.conf names.
/// </summary>
public sealed class AgentPodFixture : IAsyncLifetime
{
    /// <summary>dnsmasq for the node's resolv.conf: reachable only from the node's network namespace.</summary>
    public const string NameServer = "127.0.0.81";

    private readonly RealContainerd _containerd = new();
    private readonly TempDirectory _directory = new("periscope-pod");
    private TestCertificates? _certificates;
    private Process? _dnsmasq;

    public string? Missing { get; private set; }

    internal FakeKubernetesApi Api { get; private set; } = null!;

    internal string Socket => _containerd.Socket;

    /// <summary>A node /etc: this machine's os-release, hostname and machine-id, and a resolv.conf naming <see cref="NameServer"/>.</summary>
    internal string NodeEtc => _directory.Combine("node-etc");

    internal string ServiceAccount => _directory.Combine("serviceaccount");

    internal string CaPem { get; private set; } = string.Empty;

    public static string ImageArchive(string component)
        => Environment.GetEnvironmentVariable($"PERISCOPE_{component.ToUpperInvariant()}_IMAGE")
           ?? Path.Combine(Fixtures.Repository, "artifacts", "images", $"periscope-{component}.oci.tar");

    public void Require()
    {
        _containerd.Require();
        Requires.That(Missing is null, Missing ?? string.Empty);
    }

    public async ValueTask InitializeAsync()
    {
        if (Environment.UserName != "root")
        {
            Missing = "running pods in containerd needs root";
            return;
        }

        await _containerd.InitializeAsync();
        if (_containerd.Missing is not null)
        {
            return;
        }

        foreach (var component in new[] { "agent", "collector" })
        {
            var archive = ImageArchive(component);
            if (!File.Exists(archive))
            {
                Missing = $"the {component} image {archive} is missing: build it with scripts/images.sh --stand-in-bases (README's test command does)";
                return;
            }

            await ImportAsync(archive, $"periscope-{component}");
        }

        _certificates = new TestCertificates();
        Api = await FakeKubernetesApi.StartAsync(certificate: _certificates.Server);
        CaPem = await File.ReadAllTextAsync(_certificates.AuthorityPem);
        PodNode.WriteServiceAccount(ServiceAccount, Api.Token, CaPem, Api.Namespace);

        Directory.CreateDirectory(NodeEtc);
        foreach (var file in new[] { "os-release", "hostname", "machine-id" })
        {
            var source = Path.Combine("/etc", file);
            if (File.Exists(source))
            {
                await File.WriteAllTextAsync(Path.Combine(NodeEtc, file), await File.ReadAllTextAsync(source));
            }
        }

        await File.WriteAllTextAsync(Path.Combine(NodeEtc, "resolv.conf"), $"nameserver {NameServer}\nsearch periscope\noptions timeout:1 attempts:1\n");
        if (!File.Exists("/usr/sbin/dnsmasq"))
        {
            Missing = "dnsmasq is not installed (Debian package dnsmasq-base)";
            return;
        }

        _dnsmasq = Process.Start(new ProcessStartInfo("/usr/sbin/dnsmasq",
        [
            "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll", "--bind-interfaces",
            $"--listen-address={NameServer}", "--port=53", "--user=root", "--group=root", "--pid-file=",
            "--local=/periscope/", "--local=/k8s.io/", "--host-record=registry.k8s.io,10.0.0.9",
        ])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
    }

    private const string PodBridge = "pspod0";
    private bool _podNetwork;

    /// <summary>
    /// A pod network for pods off the host network: Debian's bridge and host-local plugins on a bridge of the test's
    /// own, reachable from the host through the bridge's gateway address.
    /// </summary>
    internal async Task EnsurePodNetworkAsync()
    {
        if (_podNetwork)
        {
            return;
        }

        await File.WriteAllTextAsync(Path.Combine(_containerd.CniConfDir, "10-periscope-pods.conflist"), $$$"""
            {"cniVersion":"0.4.0","name":"periscope-pod-tests","plugins":[{"type":"bridge","bridge":"{{{PodBridge}}}","isGateway":true,"ipMasq":false,
             "ipam":{"type":"host-local","ranges":[[{"subnet":"10.223.0.0/24"}]],"dataDir":"{{{_directory.Combine("ipam")}}}"}}]}
            """);
        using var cri = new CriClient(Socket, TimeSpan.FromSeconds(20));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = await cri.Runtime.StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            if (status.Status.Conditions.Any(c => c.Type == "NetworkReady" && c.Status))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "containerd did not load the pod network's CNI config");
            await Task.Delay(100);
        }

        _podNetwork = true;
    }

    /// <summary>
    /// The node the agent's pod runs on: this machine's /proc, /sys and /var/log, the node /etc of
    /// <see cref="NodeEtc"/>, the test containerd's socket where the node's is, the agent's spool (/var/lib/periscope)
    /// in <paramref name="spool"/>, the fake API server and its service account token.
    /// </summary>
    internal PodNode AgentNode(string root, string nodeName, string spool)
    {
        Directory.CreateDirectory(spool);
        return new PodNode(root, nodeName)
        {
            ApiServer = Api.BaseAddress,
            ServiceAccountDirectory = ServiceAccount,
            HostPaths =
            {
                ["/etc"] = NodeEtc,
                ["/run/containerd/containerd.sock"] = Socket,
                ["/var/lib/periscope"] = spool,
            },
        };
    }

    /// <summary>Imports an OCI archive and names it as the kubelet resolves the manifest's short image name.</summary>
    private async Task ImportAsync(string archive, string name)
    {
        var (exit, stdout, stderr) = await TestProcess.RunAsync("/usr/bin/ctr", "--address", Socket, "-n", "k8s.io", "images", "import", archive);
        Assert.True(exit == 0, $"ctr images import {archive}: {stdout} {stderr}");
        var version = System.Text.RegularExpressions.Regex.Match(
            await File.ReadAllTextAsync(Path.Combine(Fixtures.Repository, "Directory.Build.props")), "<Version>([^<]+)</Version>").Groups[1].Value;
        (exit, stdout, stderr) = await TestProcess.RunAsync("/usr/bin/ctr", "--address", Socket, "-n", "k8s.io", "images", "tag", "--force",
            $"localhost/{name}:{version}", $"docker.io/library/{name}:{version}");
        Assert.True(exit == 0, $"ctr images tag {name}: {stdout} {stderr}");
    }

    /// <summary>The reference the runtime holds for a manifest's image (a short name is docker.io/library/...).</summary>
    internal static string Normalize(string image)
        => image.Contains('/', StringComparison.Ordinal) && image.Split('/')[0].Contains('.', StringComparison.Ordinal)
            ? image
            : "docker.io/library/" + image;

    /// <summary>
    /// Starts the workload's pod as the kubelet would, waits until its readiness probe answers, lets
    /// <paramref name="whileRunning"/> act on it, then stops and removes it.
    /// </summary>
    internal async Task<T> WithPodAsync<T>(YamlMappingNode workload, PodNode node, Func<RunningPod, Task<T>> whileRunning)
    {
        using var cri = new CriClient(Socket, TimeSpan.FromSeconds(60));
        var podSpec = KubeletPod.PodSpec(workload);
        var image = KubeletPod.Text((YamlMappingNode)KubeletPod.Seq(podSpec, "containers")[0], "image")!;
        var podName = $"{KubeletPod.Text(KubeletPod.Map(workload, "metadata")!, "name")}-{Guid.NewGuid().ToString("N")[..5]}";
        var pod = KubeletPod.Translate(workload, podName, Normalize(image), node);

        var started = Stopwatch.StartNew();
        var sandbox = await cri.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = pod.Sandbox }, deadline: DateTime.UtcNow.AddSeconds(60));
        try
        {
            var created = await cri.Runtime.CreateContainerAsync(new CreateContainerRequest
            {
                PodSandboxId = sandbox.PodSandboxId,
                Config = pod.Container,
                SandboxConfig = pod.Sandbox,
            }, deadline: DateTime.UtcNow.AddSeconds(60));
            var containerStarted = Stopwatch.StartNew();
            await cri.Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = created.ContainerId }, deadline: DateTime.UtcNow.AddSeconds(60));
            var running = new RunningPod(pod, podName, created.ContainerId, Path.Combine(pod.Sandbox.LogDirectory, pod.Container.LogPath), cri);
            running.ProcessId = await ProcessIdAsync(cri, created.ContainerId);
            if (pod.Readiness is { } readiness)
            {
                var address = pod.HostNetwork
                    ? "127.0.0.1"
                    : (await cri.Runtime.PodSandboxStatusAsync(new PodSandboxStatusRequest { PodSandboxId = sandbox.PodSandboxId }, deadline: DateTime.UtcNow.AddSeconds(20))).Status.Network.Ip;
                running.Address = address;
                running.Ready = await WaitReadyAsync(readiness.For(address), running);
                running.StartToReady = containerStarted.Elapsed;
            }

            return await whileRunning(running);
        }
        finally
        {
            await cri.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = sandbox.PodSandboxId }, deadline: DateTime.UtcNow.AddSeconds(60));
            await cri.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = sandbox.PodSandboxId }, deadline: DateTime.UtcNow.AddSeconds(60));
        }
    }

    private static async Task<int> ProcessIdAsync(CriClient cri, string containerId)
    {
        var status = await cri.Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = containerId, Verbose = true }, deadline: DateTime.UtcNow.AddSeconds(20));
        using var info = JsonDocument.Parse(status.Info["info"]);
        return info.RootElement.GetProperty("pid").GetInt32();
    }

    /// <summary>Probes as the kubelet does (any 2xx/3xx is ready) until ready, the container exits, or 60 s pass.</summary>
    private static async Task<bool> WaitReadyAsync(Uri readiness, RunningPod pod)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync(readiness);
                if ((int)response.StatusCode is >= 200 and < 400)
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }

            if (!Directory.Exists($"/proc/{pod.ProcessId}"))
            {
                return false;
            }

            await Task.Delay(5);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_dnsmasq is not null)
        {
            _dnsmasq.Kill();
            await _dnsmasq.WaitForExitAsync();
            _dnsmasq.Dispose();
        }

        if (Api is not null)
        {
            await Api.DisposeAsync();
        }

        _certificates?.Dispose();
        await _containerd.DisposeAsync();
        if (_podNetwork)
        {
            await TestProcess.RunAsync("/usr/sbin/ip", "link", "delete", PodBridge);
        }

        _directory.Dispose();
    }
}

/// <summary>A pod's container while it runs: its host process id and log, and the readiness it reached.</summary>
internal sealed class RunningPod(KubeletPod pod, string name, string containerId, string logPath, CriClient cri)
{
    public KubeletPod Pod { get; } = pod;

    public string Name { get; } = name;

    public string ContainerId { get; } = containerId;

    public string LogPath { get; } = logPath;

    public CriClient Cri { get; } = cri;

    public int ProcessId { get; set; }

    /// <summary>Where the pod answers: 127.0.0.1 on the host network, else its pod IP.</summary>
    public string Address { get; set; } = "127.0.0.1";

    public bool Ready { get; set; }

    public TimeSpan StartToReady { get; set; }

    public string Log => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "(no log)";

    /// <summary>The container's mounts as its process sees them: mount point → options (per-mount and super block).</summary>
    public IReadOnlyDictionary<string, string> MountOptions()
    {
        var mounts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines($"/proc/{ProcessId}/mountinfo"))
        {
            // id parent major:minor root mount-point options [optional...] - fstype source super-options
            var fields = line.Split(' ');
            mounts[Unescape(fields[4])] = fields[5];
        }

        return mounts;
    }

    /// <summary>A line of the container process's /proc/PID/status (CapEff, NoNewPrivs, Seccomp, VmRSS ...).</summary>
    public string? Status(string key)
        => File.ReadLines($"/proc/{ProcessId}/status").FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal))?[(key.Length + 1)..].Trim();

    private static string Unescape(string path) => path.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} ({ContainerId[..12]}, pid {ProcessId})");
}
