using System.Globalization;
using Periscope.Agent.Collection.Cri;
using Periscope.Testing;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Periscope.EndToEnd.Tests.Pod;

/// <summary>
/// What the kubelet asks of the CRI for one pod of a rendered workload manifest (a DaemonSet's or a Deployment's pod
/// template, one container): the sandbox (host network and PID namespaces, pod-level user and seccomp, a kubelet-style
/// cgroup parent), the container (image, command and args, env with the downward API, every volumeMount with its
/// read-only flag, capabilities, privilege, user, no_new_privs from allowPrivilegeEscalation, read-only root
/// filesystem, seccomp, resources, and the /proc paths the kubelet masks), the service account token mount, and the
/// readiness probe. A field it does not know how to translate fails the test rather than being dropped.
/// </summary>
internal sealed class KubeletPod
{
    /// <summary>The paths the kubelet asks the runtime to mask and to make read-only in a non-privileged container.</summary>
    private static readonly string[] MaskedPaths =
    [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ];

    private static readonly string[] ReadOnlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    private KubeletPod(PodSandboxConfig sandbox, ContainerConfig container, IReadOnlyList<PodMount> mounts, HttpProbe? readiness)
    {
        Sandbox = sandbox;
        Container = container;
        Mounts = mounts;
        Readiness = readiness;
    }

    public PodSandboxConfig Sandbox { get; }

    public ContainerConfig Container { get; }

    /// <summary>Each volumeMount as the manifest states it, with the node path it resolved to.</summary>
    public IReadOnlyList<PodMount> Mounts { get; }

    /// <summary>The readiness probe (httpGet), if the container has one.</summary>
    public HttpProbe? Readiness { get; }

    /// <summary>True when the pod shares the node's network namespace.</summary>
    public bool HostNetwork => Sandbox.Linux.SecurityContext.NamespaceOptions.Network == NamespaceMode.Node;

    /// <summary>Renders an overlay with <c>kubectl kustomize</c> and returns one object of it.</summary>
    public static async Task<YamlMappingNode> RenderAsync(string overlay, string kind, string name)
    {
        var kubectl = Requires.Tool("kubectl");
        var (exit, stdout, stderr) = await TestProcess.RunAsync(kubectl, "kustomize", Path.Combine(Fixtures.Repository, "deploy", "overlays", overlay));
        Assert.True(exit == 0, $"kubectl kustomize {overlay}: {stderr}");
        var stream = new YamlStream();
        stream.Load(new StringReader(stdout));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode)
            .Single(o => Text(o, "kind") == kind && Text(Map(o, "metadata")!, "name") == name);
    }

    /// <summary>The pod template's spec of a rendered workload.</summary>
    public static YamlMappingNode PodSpec(YamlMappingNode workload) => Map(Map(Map(workload, "spec")!, "template")!, "spec")!;

    /// <summary>Translates a workload's pod template as the kubelet would for the pod <paramref name="podName"/>.</summary>
    /// <param name="image">The image reference the runtime holds for the container's image.</param>
    /// <param name="node">Resolves the pod's volumes and downward API values on the node.</param>
    public static KubeletPod Translate(YamlMappingNode workload, string podName, string image, PodNode node)
    {
        var metadata = Map(workload, "metadata")!;
        var ns = Text(metadata, "namespace") ?? "default";
        var template = Map(Map(workload, "spec")!, "template")!;
        var labels = Map(Map(template, "metadata") ?? new YamlMappingNode(), "labels");
        var spec = Map(template, "spec")!;
        var uid = Guid.NewGuid().ToString();
        Refuse(spec, "initContainers", "ephemeralContainers", "hostIPC", "shareProcessNamespace", "hostUsers");

        var hostNetwork = Bool(spec, "hostNetwork");
        var hostPid = Bool(spec, "hostPID");
        var podSecurity = Map(spec, "securityContext") ?? new YamlMappingNode();
        var sandbox = new PodSandboxConfig
        {
            Metadata = new PodSandboxMetadata { Name = podName, Namespace = ns, Uid = uid, Attempt = 0 },
            Hostname = hostNetwork ? string.Empty : podName,
            LogDirectory = node.LogDirectory(ns, podName, uid),
            Labels =
            {
                ["io.kubernetes.pod.name"] = podName,
                ["io.kubernetes.pod.namespace"] = ns,
                ["io.kubernetes.pod.uid"] = uid,
            },
            Linux = new LinuxPodSandboxConfig
            {
                CgroupParent = $"/kubepods/burstable/pod{uid}",
                SecurityContext = new LinuxSandboxSecurityContext
                {
                    NamespaceOptions = new NamespaceOption
                    {
                        Network = hostNetwork ? NamespaceMode.Node : NamespaceMode.Pod,
                        Pid = hostPid ? NamespaceMode.Node : NamespaceMode.Container,
                        Ipc = NamespaceMode.Pod,
                    },
                    Seccomp = Seccomp(podSecurity),
                },
            },
        };
        foreach (var (key, value) in Pairs(labels))
        {
            sandbox.Labels[key] = value;
        }

        if (Int(podSecurity, "runAsUser") is { } podUser)
        {
            sandbox.Linux.SecurityContext.RunAsUser = new Int64Value { Value = podUser };
        }

        var containers = Seq(spec, "containers");
        Assert.True(containers.Count == 1, "the translation handles one container per pod");
        var c = (YamlMappingNode)containers[0];
        Refuse(c, "lifecycle", "startupProbe", "volumeDevices", "envFrom", "workingDir", "stdin", "tty");
        var name = Text(c, "name")!;
        var container = new ContainerConfig
        {
            Metadata = new ContainerMetadata { Name = name, Attempt = 0 },
            Image = new ImageSpec { Image = image },
            LogPath = $"{name}/0.log",
            Labels =
            {
                ["io.kubernetes.pod.name"] = podName,
                ["io.kubernetes.pod.namespace"] = ns,
                ["io.kubernetes.pod.uid"] = uid,
                ["io.kubernetes.container.name"] = name,
            },
            Annotations = { ["io.kubernetes.container.restartCount"] = "0" },
        };
        container.Command.Add(Seq(c, "command").Select(n => ((YamlScalarNode)n).Value!));
        container.Args.Add(Seq(c, "args").Select(n => ((YamlScalarNode)n).Value!));

        foreach (YamlMappingNode env in Seq(c, "env"))
        {
            var value = Text(env, "value");
            if (Map(env, "valueFrom") is { } from)
            {
                var field = Map(from, "fieldRef") is { } fieldRef ? Text(fieldRef, "fieldPath")! : null;
                Assert.True(field is not null, $"env {Text(env, "name")}: only fieldRef is translated");
                value = field switch
                {
                    "spec.nodeName" => node.NodeName,
                    "metadata.namespace" => ns,
                    "metadata.name" => podName,
                    "metadata.uid" => uid,
                    _ => throw new InvalidOperationException($"env {Text(env, "name")}: fieldRef {field} is not translated"),
                };
            }

            container.Envs.Add(new KeyValue { Key = Text(env, "name")!, Value = value ?? string.Empty });
        }

        // The kubelet gives every pod the API server's address (the default kubernetes Service).
        if (node.ApiServer is { } api)
        {
            container.Envs.Add(new KeyValue { Key = "KUBERNETES_SERVICE_HOST", Value = api.Host });
            container.Envs.Add(new KeyValue { Key = "KUBERNETES_SERVICE_PORT", Value = api.Port.ToString(CultureInfo.InvariantCulture) });
        }

        var volumes = Seq(spec, "volumes").Cast<YamlMappingNode>().ToDictionary(v => Text(v, "name")!, StringComparer.Ordinal);
        var mounts = new List<PodMount>();
        foreach (YamlMappingNode mount in Seq(c, "volumeMounts"))
        {
            Refuse(mount, "subPath", "subPathExpr", "mountPropagation");
            var volumeName = Text(mount, "name")!;
            Assert.True(volumes.TryGetValue(volumeName, out var volume), $"volumeMount {volumeName} has no volume");
            var hostPath = node.Resolve(volumeName, volume!);
            var readOnly = Bool(mount, "readOnly");
            var path = Text(mount, "mountPath")!;
            mounts.Add(new PodMount(volumeName, path, hostPath, readOnly));
            container.Mounts.Add(new Mount { ContainerPath = path, HostPath = hostPath, Readonly = readOnly });
        }

        var automount = Text(spec, "automountServiceAccountToken") is not { } automountText || automountText == "true";
        if (automount && node.ServiceAccountDirectory is { } serviceAccount)
        {
            const string TokenPath = "/var/run/secrets/kubernetes.io/serviceaccount";
            mounts.Add(new PodMount("kube-api-access", TokenPath, serviceAccount, true));
            container.Mounts.Add(new Mount { ContainerPath = TokenPath, HostPath = serviceAccount, Readonly = true });
        }

        var security = Map(c, "securityContext") ?? new YamlMappingNode();
        var privileged = Bool(security, "privileged");
        var linuxSecurity = new LinuxContainerSecurityContext
        {
            Privileged = privileged,
            ReadonlyRootfs = Bool(security, "readOnlyRootFilesystem"),
            // allowPrivilegeEscalation: false sets no_new_privs; a privileged container always may escalate.
            NoNewPrivs = !privileged && Text(security, "allowPrivilegeEscalation") == "false",
            Seccomp = Seccomp(security, Seccomp(podSecurity)),
            NamespaceOptions = sandbox.Linux.SecurityContext.NamespaceOptions.Clone(),
        };
        if ((Int(security, "runAsUser") ?? Int(podSecurity, "runAsUser")) is { } user)
        {
            linuxSecurity.RunAsUser = new Int64Value { Value = user };
        }

        if ((Int(security, "runAsGroup") ?? Int(podSecurity, "runAsGroup")) is { } group)
        {
            linuxSecurity.RunAsGroup = new Int64Value { Value = group };
        }

        if (Map(security, "capabilities") is { } capabilities)
        {
            linuxSecurity.Capabilities = new Capability();
            linuxSecurity.Capabilities.AddCapabilities.Add(Seq(capabilities, "add").Select(n => ((YamlScalarNode)n).Value!));
            linuxSecurity.Capabilities.DropCapabilities.Add(Seq(capabilities, "drop").Select(n => ((YamlScalarNode)n).Value!));
        }

        if (!privileged)
        {
            linuxSecurity.MaskedPaths.Add(MaskedPaths);
            linuxSecurity.ReadonlyPaths.Add(ReadOnlyPaths);
        }

        var resources = new LinuxContainerResources { CpuPeriod = 100_000, CpuShares = 2 };
        if (Map(c, "resources") is { } r)
        {
            if (Map(r, "limits") is { } limits)
            {
                resources.MemoryLimitInBytes = Text(limits, "memory") is { } memory ? Quantity(memory) : 0;
                resources.CpuQuota = Text(limits, "cpu") is { } cpu ? (long)(CpuCores(cpu) * 100_000) : 0;
            }

            if (Map(r, "requests") is { } requests && Text(requests, "cpu") is { } requested)
            {
                resources.CpuShares = Math.Max(2, (long)(CpuCores(requested) * 1024));
            }
        }

        container.Linux = new LinuxContainerConfig { Resources = resources, SecurityContext = linuxSecurity };

        // The kubelet marks the sandbox privileged when one of its containers is.
        sandbox.Linux.SecurityContext.Privileged = privileged;

        HttpProbe? readiness = null;
        if (Map(c, "readinessProbe") is { } probe && Map(probe, "httpGet") is { } get)
        {
            var port = Text(get, "port")!;
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                var named = Seq(c, "ports").Cast<YamlMappingNode>().Single(p => Text(p, "name") == port);
                number = int.Parse(Text(named, "containerPort")!, CultureInfo.InvariantCulture);
            }

            readiness = new HttpProbe((Text(get, "scheme") ?? "HTTP").ToLowerInvariant(), Text(get, "host"), number, Text(get, "path") ?? "/");
        }

        return new KubeletPod(sandbox, container, mounts, readiness);
    }

    private static SecurityProfile Seccomp(YamlMappingNode security, SecurityProfile? inherited = null)
    {
        if (Map(security, "seccompProfile") is not { } profile)
        {
            // No profile in the pod or the container: the kubelet asks for Unconfined.
            return inherited ?? new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.Unconfined };
        }

        return Text(profile, "type") switch
        {
            "RuntimeDefault" => new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault },
            "Unconfined" => new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.Unconfined },
            var other => throw new InvalidOperationException($"seccompProfile {other} is not translated"),
        };
    }

    private static void Refuse(YamlMappingNode node, params string[] keys)
    {
        foreach (var key in keys)
        {
            Assert.False(node.Children.ContainsKey(new YamlScalarNode(key)), $"the manifest sets {key}, which this translation does not carry to the runtime");
        }
    }

    internal static long Quantity(string value)
    {
        var units = new (string Suffix, long Factor)[] { ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("k", 1000), ("M", 1_000_000), ("G", 1_000_000_000) };
        foreach (var (suffix, factor) in units)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal))
            {
                return long.Parse(value[..^suffix.Length], CultureInfo.InvariantCulture) * factor;
            }
        }

        return long.Parse(value, CultureInfo.InvariantCulture);
    }

    private static double CpuCores(string value)
        => value.EndsWith('m') ? double.Parse(value[..^1], CultureInfo.InvariantCulture) / 1000 : double.Parse(value, CultureInfo.InvariantCulture);

    internal static YamlMappingNode? Map(YamlMappingNode node, string key)
        => node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value as YamlMappingNode : null;

    internal static IReadOnlyList<YamlNode> Seq(YamlMappingNode node, string key)
        => node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlSequenceNode sequence ? sequence.Children.ToList() : [];

    internal static string? Text(YamlMappingNode node, string key)
        => node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;

    private static bool Bool(YamlMappingNode node, string key) => Text(node, key) == "true";

    private static long? Int(YamlMappingNode node, string key)
        => Text(node, key) is { } text ? long.Parse(text, CultureInfo.InvariantCulture) : null;

    private static IEnumerable<(string Key, string Value)> Pairs(YamlMappingNode? node)
        => node is null ? [] : node.Children.Select(p => (((YamlScalarNode)p.Key).Value!, ((YamlScalarNode)p.Value).Value ?? string.Empty));
}

/// <summary>An httpGet probe; without a host the kubelet probes the pod's IP.</summary>
internal sealed record HttpProbe(string Scheme, string? Host, int Port, string Path)
{
    public Uri For(string podIp) => new($"{Scheme}://{Host ?? podIp}:{Port}{Path}");
}

/// <summary>A volumeMount as the manifest states it, with the node path the volume resolved to.</summary>
internal sealed record PodMount(string Volume, string MountPath, string NodePath, bool ReadOnly);
