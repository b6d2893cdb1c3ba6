using System.Diagnostics;
using System.Globalization;
using System.Text;
using Grpc.Core;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Agent.Collection.Cri;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Containerd;

/// <summary>
/// A real containerd (Debian's package) started with a private config: root, state, socket, runc root and CNI
/// conf dir in a temp directory, <c>restrict_oom_score_adj</c> (root here lacks CAP_SYS_RESOURCE), images imported
/// from OCI layout tarballs built around Debian's static busybox. Tests drive it through CRI as the kubelet does.
/// </summary>
public sealed class RealContainerd : IAsyncLifetime
{
    public const string Image = "docker.io/library/busybox:periscope";
    public const string PauseImage = "registry.k8s.io/pause:periscope";
    // containerd 1.6 also writes here whatever its config says (shim sockets, CNI state, netns): removed if we made them.
    private static readonly string[] GlobalDirectories = ["/run/containerd", "/var/lib/cni", "/var/run/netns"];
    private readonly HashSet<string> _preexisting = GlobalDirectories.Concat(KubepodsCgroups()).Where(Directory.Exists).ToHashSet();
    private Process? _process;

    public string Root { get; } = Directory.CreateTempSubdirectory("ctd-").FullName;

    public string Socket => Path.Combine(Root, "c.sock");

    public string CniConfDir => Path.Combine(Root, "cni");

    public string LogRoot => Path.Combine(Root, "pods");

    public string? Missing { get; private set; }

    public async ValueTask InitializeAsync()
    {
        foreach (var tool in new[] { "/usr/bin/containerd", "/usr/bin/ctr", "/usr/sbin/runc", "/bin/busybox" })
        {
            if (!File.Exists(tool))
            {
                Missing = $"{tool} is not installed (Debian packages containerd, runc, containernetworking-plugins, busybox-static)";
                return;
            }
        }

        Directory.CreateDirectory(CniConfDir);
        Directory.CreateDirectory(LogRoot);
        var config = Path.Combine(Root, "config.toml");
        await File.WriteAllTextAsync(config, $$"""
            version = 2
            root = "{{Root}}/root"
            state = "{{Root}}/state"
            disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
            [grpc]
              address = "{{Socket}}"
            [ttrpc]
              address = "{{Socket}}.ttrpc"
            [plugins."io.containerd.grpc.v1.cri"]
              sandbox_image = "{{PauseImage}}"
              restrict_oom_score_adj = true
              [plugins."io.containerd.grpc.v1.cri".containerd]
                snapshotter = "overlayfs"
                [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                  runtime_type = "io.containerd.runc.v2"
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                    Root = "{{Root}}/runc"
              [plugins."io.containerd.grpc.v1.cri".cni]
                bin_dir = "/usr/lib/cni"
                conf_dir = "{{CniConfDir}}"
            """);
        _process = Process.Start(new ProcessStartInfo("/usr/bin/containerd", ["--config", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _ = _process.StandardOutput.ReadToEndAsync();
        var log = new StringBuilder();
        _process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.Exists(Socket) && DateTime.UtcNow < deadline && !_process.HasExited)
        {
            await Task.Delay(50);
        }

        if (!File.Exists(Socket))
        {
            throw new InvalidOperationException("containerd did not start: " + log);
        }

        var busybox = Path.Combine(Root, "busybox.tar");
        OciImageBuilder.Build(busybox, Image, "/bin/busybox", ["/bin/busybox", "sleep", "3600"]);
        var pause = Path.Combine(Root, "pause.tar");
        OciImageBuilder.Build(pause, PauseImage, "/bin/busybox", ["/bin/busybox", "sleep", "2147483647"]);
        foreach (var tarball in new[] { busybox, pause })
        {
            var (exit, stdout, stderr) = await TestProcess.RunAsync("/usr/bin/ctr", "--address", Socket, "-n", "k8s.io", "images", "import", "--all-platforms", tarball);
            if (exit != 0)
            {
                throw new InvalidOperationException($"ctr images import failed: {stdout} {stderr}");
            }
        }
    }

    private static IEnumerable<string> KubepodsCgroups()
        => Directory.Exists("/sys/fs/cgroup")
            ? Directory.EnumerateDirectories("/sys/fs/cgroup").Select(d => Path.Combine(d, "kubepods")).Append("/sys/fs/cgroup/kubepods")
            : [];

    public void Require() => Requires.That(Missing is null, Missing ?? string.Empty);

    /// <summary>Runs a pod sandbox labelled as the kubelet labels it: on the host network, or with a pod network from CNI.</summary>
    /// <param name="cgroupParent">A kubelet-style parent (<c>/kubepods/burstable/pod&lt;uid&gt;</c>), or null for containerd's default.</param>
    /// <param name="podNetwork">True for a network namespace of its own, set up by the CNI config in <see cref="CniConfDir"/>.</param>
    internal async Task<(string Id, PodSandboxConfig Config)> RunSandboxAsync(CriClient cri, string ns, string pod, string uid, string? cgroupParent = null, bool podNetwork = false)
    {
        var config = new PodSandboxConfig
        {
            Metadata = new PodSandboxMetadata { Name = pod, Namespace = ns, Uid = uid, Attempt = 0 },
            LogDirectory = Path.Combine(LogRoot, $"{ns}_{pod}_{uid}"),
            Labels = { ["io.kubernetes.pod.name"] = pod, ["io.kubernetes.pod.namespace"] = ns, ["io.kubernetes.pod.uid"] = uid },
            Linux = new LinuxPodSandboxConfig
            {
                CgroupParent = cgroupParent ?? string.Empty,
                SecurityContext = new LinuxSandboxSecurityContext { NamespaceOptions = new NamespaceOption { Network = podNetwork ? NamespaceMode.Pod : NamespaceMode.Node } },
            },
        };
        Directory.CreateDirectory(config.LogDirectory);
        var response = await cri.Runtime.RunPodSandboxAsync(new RunPodSandboxRequest { Config = config }, deadline: DateTime.UtcNow.AddSeconds(60));
        return (response.PodSandboxId, config);
    }

    /// <summary>Creates and starts a container, labelled and annotated as the kubelet does.</summary>
    internal static async Task<string> StartContainerAsync(
        CriClient cri, (string Id, PodSandboxConfig Config) sandbox, string name, uint attempt, string[] command, long memoryLimit = 0)
    {
        var metadata = sandbox.Config.Metadata;
        var created = await cri.Runtime.CreateContainerAsync(new CreateContainerRequest
        {
            PodSandboxId = sandbox.Id,
            SandboxConfig = sandbox.Config,
            Config = new ContainerConfig
            {
                Metadata = new ContainerMetadata { Name = name, Attempt = attempt },
                Image = new ImageSpec { Image = Image },
                Command = { command },
                LogPath = $"{name}/{attempt}.log",
                Labels =
                {
                    ["io.kubernetes.pod.name"] = metadata.Name,
                    ["io.kubernetes.pod.namespace"] = metadata.Namespace,
                    ["io.kubernetes.pod.uid"] = metadata.Uid,
                    ["io.kubernetes.container.name"] = name,
                },
                Annotations = { ["io.kubernetes.container.restartCount"] = attempt.ToString(CultureInfo.InvariantCulture) },
                Linux = new LinuxContainerConfig { Resources = new LinuxContainerResources { MemoryLimitInBytes = memoryLimit } },
            },
        }, deadline: DateTime.UtcNow.AddSeconds(60));
        await cri.Runtime.StartContainerAsync(new StartContainerRequest { ContainerId = created.ContainerId }, deadline: DateTime.UtcNow.AddSeconds(60));
        return created.ContainerId;
    }

    /// <summary>Waits until the container has exited.</summary>
    internal static async Task<ContainerStatus> WaitExitedAsync(CriClient cri, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var status = (await cri.Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = id }, deadline: DateTime.UtcNow.AddSeconds(10))).Status;
            if (status.State == ContainerState.ContainerExited || DateTime.UtcNow > deadline)
            {
                return status;
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null && !_process.HasExited)
        {
            try
            {
                using var cri = new CriClient(Socket, TimeSpan.FromSeconds(20));
                var sandboxes = await cri.Runtime.ListPodSandboxAsync(new ListPodSandboxRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
                foreach (var sandbox in sandboxes.Items)
                {
                    await cri.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = sandbox.Id }, deadline: DateTime.UtcNow.AddSeconds(30));
                    await cri.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = sandbox.Id }, deadline: DateTime.UtcNow.AddSeconds(30));
                }
            }
            catch (RpcException)
            {
                // Best effort: the process is killed and its mounts removed below.
            }

            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        // Unmount whatever the runtime left mounted under the private directory (rootfs, shm), deepest first.
        var mounts = (await File.ReadAllLinesAsync("/proc/self/mounts"))
            .Select(l => l.Split(' ')).Where(p => p.Length > 1 && p[1].StartsWith(Root, StringComparison.Ordinal))
            .Select(p => p[1]).OrderByDescending(p => p.Length);
        foreach (var mount in mounts)
        {
            await TestProcess.RunAsync("/bin/umount", "-l", mount);
        }

        // Another test run's containerd (a test project running in parallel) shares the global directories and the
        // kubepods cgroups: the last one to stop cleans them.
        var shared = Process.GetProcessesByName("containerd").Any(p => p.Id != _process?.Id);

        // cgroups the kubelet-style parents created: rmdir from the deepest up (cgroupfs has no recursive delete).
        foreach (var hierarchy in KubepodsCgroups().Where(d => !shared && !_preexisting.Contains(d) && Directory.Exists(d)))
        {
            foreach (var cgroup in Directory.EnumerateDirectories(hierarchy, "*", SearchOption.AllDirectories).Append(hierarchy).OrderByDescending(d => d.Length))
            {
                try
                {
                    Directory.Delete(cgroup, recursive: false);
                }
                catch (IOException)
                {
                }
            }
        }

        foreach (var directory in GlobalDirectories.Where(d => !shared && !_preexisting.Contains(d)).Append(Root))
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }
    }
}
