using k8s;
using k8s.Models;
using Periscope.Testing;
using Xunit;

namespace Periscope.Deploy.Tests;

/// <summary>
/// The shipped manifests, rendered with <c>kubectl kustomize</c> and loaded strictly into the API's types, checked for
/// what the agent needs and for nothing more: least privilege, read-only host mounts, probes that reach the agent.
/// </summary>
public sealed class ManifestTests
{
    public static TheoryData<string> Overlays => new() { "aks", "dev", "minimal" };

    /// <summary>Node paths the agent's collectors read by default (their options' defaults), under the host root.</summary>
    private static readonly string[] ReadByDefault =
    [
        "/proc", "/sys", // system, kubelet (process table), kernel (boot time), cni (routes, interfaces)
        "/etc/os-release", "/etc/hostname", "/etc/resolv.conf", "/etc/default/kubelet", "/etc/kubernetes", // identity, dns, kubelet
        "/etc/cni/net.d", "/opt/cni/bin", "/var/lib/cni/networks", // cni
        "/var/log/kern.log", "/var/log/journal", "/run/log/journal", "/var/log/pods", // kernel, kubelet, containerd
        "/var/lib/kubelet/pki", // kubelet certificates
        "/run/containerd/containerd.sock", // containerd
    ];

    private static string Repo
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Periscope.NET.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("the repository root was not found");
        }
    }

    private static async Task<List<object>> RenderAsync(string overlay)
    {
        var kubectl = Requires.Tool("kubectl");
        var (exit, stdout, stderr) = await TestProcess.RunAsync(kubectl, "kustomize", Path.Combine(Repo, "deploy", "overlays", overlay));
        Assert.True(exit == 0, $"kubectl kustomize {overlay}: {stderr}");
        return [.. KubernetesYaml.LoadAllFromString(stdout, strict: true)];
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Rendered_IsTheOverlaysKustomizeOutput_AsTheIncidentCommandEmbedsIt(string overlay)
    {
        var kubectl = Requires.Tool("kubectl");
        var (exit, stdout, stderr) = await TestProcess.RunAsync(kubectl, "kustomize", Path.Combine(Repo, "deploy", "overlays", overlay));
        Assert.True(exit == 0, $"kubectl kustomize {overlay}: {stderr}");
        var rendered = await File.ReadAllTextAsync(Path.Combine(Repo, "deploy", "rendered", overlay + ".yaml"), TestContext.Current.CancellationToken);
        Assert.True(rendered.EndsWith(stdout, StringComparison.Ordinal), $"deploy/rendered/{overlay}.yaml is stale: run scripts/render-manifests.sh");
        Assert.Equal(Directory.GetDirectories(Path.Combine(Repo, "deploy", "overlays")).Length, Directory.GetFiles(Path.Combine(Repo, "deploy", "rendered"), "*.yaml").Length);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task SettingsConfigMaps_NameTheirFile_AndHoldDistinctPlaceholders_ThatTheIncidentCommandCanReplace(string overlay)
    {
        var objects = await RenderAsync(overlay);
        foreach (var map in objects.OfType<V1ConfigMap>().Where(m => m.Metadata.Annotations?.ContainsKey("periscope.io/settings-file") == true))
        {
            var file = Path.Combine(Repo, map.Metadata.Annotations["periscope.io/settings-file"]);
            Assert.True(File.Exists(file), $"{overlay}: {map.Metadata.Name} names {file}, which does not exist");
            var keys = File.ReadAllLines(file).Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split('=')[0]).Order(StringComparer.Ordinal);
            Assert.Equal(keys, map.Data.Keys.Order(StringComparer.Ordinal));

            // Each non-empty placeholder is set by value wherever kustomize copied it: it must be one setting's alone
            // and appear in no other string of the manifests.
            var placeholders = map.Data.Values.Where(v => v.Length > 0).ToList();
            Assert.Equal(placeholders.Count, placeholders.Distinct(StringComparer.Ordinal).Count());
            var others = string.Join("\n", objects.Where(o => !ReferenceEquals(o, map)).Select(o => KubernetesYaml.Serialize(o)));
            foreach (var placeholder in placeholders)
            {
                Assert.False(placeholder.Length < 12, $"{overlay}: placeholder '{placeholder}' is too short to be told from real values");
                Assert.DoesNotContain(others.Split('\n'), line => line.Contains(placeholder, StringComparison.Ordinal)
                    && !line.Contains("client-id", StringComparison.Ordinal)); // only the replacements' own targets
            }
        }
    }

    [Fact]
    public void StrictLoading_UnknownField_Fails()
        => Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n", strict: true));

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Agent_MountsEveryHostPathItReadsReadOnly_AndNothingWritableButItsSpoolAndScratch(string overlay)
    {
        var agent = Agent(await RenderAsync(overlay));
        var pod = agent.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        var hostPaths = pod.Volumes.Where(v => v.HostPath is not null).ToDictionary(v => v.Name, v => v.HostPath.Path);
        foreach (var path in ReadByDefault)
        {
            var mount = container.VolumeMounts.FirstOrDefault(m => hostPaths.TryGetValue(m.Name, out var host)
                && m.MountPath == "/host" + host && (path == host || path.StartsWith(host + "/", StringComparison.Ordinal)));
            Assert.True(mount is not null, $"{overlay}: {path} is not mounted under /host");
            Assert.True(mount!.ReadOnlyProperty == true, $"{overlay}: {path} is mounted writable");
        }

        foreach (var mount in container.VolumeMounts.Where(m => m.ReadOnlyProperty != true))
        {
            Assert.Contains(mount.Name, new[] { "spool", "tmp" });
        }

        Assert.DoesNotContain(hostPaths.Values, p => p is "/" or "/var/lib/kubelet" || p.StartsWith("/var/lib/kubelet/pods", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Agent_IsNotPrivileged_AndAddsOnlyWhatItsCollectorsUse(string overlay)
    {
        var pod = Agent(await RenderAsync(overlay)).Spec.Template.Spec;
        var security = Assert.Single(pod.Containers).SecurityContext;

        Assert.NotEqual(true, security.Privileged);
        Assert.False(security.AllowPrivilegeEscalation);
        Assert.True(security.ReadOnlyRootFilesystem);
        Assert.Equal("RuntimeDefault", security.SeccompProfile.Type);
        Assert.Equal(["ALL"], security.Capabilities.Drop);
        Assert.Equal(overlay == "minimal" ? ["SYSLOG"] : ["SYSLOG", "NET_ADMIN"], security.Capabilities.Add);
        Assert.NotEqual(true, pod.HostPID);
        Assert.NotEqual(true, pod.HostIPC);
        Assert.True(pod.HostNetwork);
        Assert.Equal("Default", pod.DnsPolicy);
        Assert.Equal(overlay == "minimal", pod.Volumes.Single(v => v.Name == "spool").EmptyDir is not null);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Agent_ReachesEveryNodeAndRollsSafely(string overlay)
    {
        var agent = Agent(await RenderAsync(overlay));
        var pod = agent.Spec.Template.Spec;

        Assert.Contains(pod.Tolerations, t => t.OperatorProperty == "Exists" && t.Key is null && t.Effect is null); // every taint
        Assert.Equal("linux", pod.NodeSelector["kubernetes.io/os"]);
        Assert.Equal("system-node-critical", pod.PriorityClassName);
        Assert.Equal("0", agent.Spec.UpdateStrategy.RollingUpdate.MaxSurge.Value);
        Assert.True(pod.TerminationGracePeriodSeconds > 20 + 10);
        var env = Assert.Single(pod.Containers).Env.ToDictionary(e => e.Name);
        Assert.Equal("spec.nodeName", env["NODE_NAME"].ValueFrom.FieldRef.FieldPath);
        Assert.Equal("metadata.namespace", env["POD_NAMESPACE"].ValueFrom.FieldRef.FieldPath);
        Assert.Equal("/host", env["Periscope__HostRoot"].Value);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Workloads_ProbesResourcesImagesAndSelectorsAreWhole(string overlay)
    {
        var objects = await RenderAsync(overlay);
        foreach (var (name, selector, template) in Workloads(objects))
        {
            foreach (var (key, value) in selector.MatchLabels)
            {
                Assert.True(template.Metadata.Labels.TryGetValue(key, out var label) && label == value, $"{name}: selector {key}={value} does not match its pods");
            }

            foreach (var container in template.Spec.Containers)
            {
                Assert.Matches(@":[^/]+$", container.Image); // a tag
                Assert.False(string.IsNullOrEmpty(container.ImagePullPolicy), $"{name}: no pull policy");
                Assert.NotNull(container.LivenessProbe?.HttpGet);
                Assert.NotNull(container.ReadinessProbe?.HttpGet);
                Assert.True(container.Resources.Requests.ContainsKey("memory") && container.Resources.Limits.ContainsKey("memory"), $"{name}: no memory request or limit");
                Assert.True(container.Resources.Requests.ContainsKey("cpu"), $"{name}: no CPU request");
            }

            var account = template.Spec.ServiceAccountName;
            Assert.Contains(objects.OfType<V1ServiceAccount>(), a => a.Metadata.Name == account);
        }

        // The agent listens on 127.0.0.1:9469 (Periscope:Http:Listen): under hostNetwork the probe must name that host.
        var probe = Assert.Single(Agent(objects).Spec.Template.Spec.Containers).LivenessProbe.HttpGet;
        Assert.Equal("127.0.0.1", probe.Host);
        Assert.Equal("9469", probe.Port.Value);
        Assert.Equal("/healthz", probe.Path);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Rbac_IsLeastPrivilege(string overlay)
    {
        var objects = await RenderAsync(overlay);
        var roles = objects.OfType<V1Role>().Select(r => (r.Metadata.Name, r.Rules))
            .Concat(objects.OfType<V1ClusterRole>().Select(r => (r.Metadata.Name, r.Rules))).ToList();
        foreach (var (name, rules) in roles)
        {
            foreach (var rule in rules)
            {
                Assert.DoesNotContain("*", rule.Verbs);
                Assert.DoesNotContain("*", rule.Resources);
                Assert.DoesNotContain("*", rule.ApiGroups);
                Assert.DoesNotContain("secrets", rule.Resources);
            }
        }

        var agent = roles.Single(r => r.Name == "periscope-agent").Rules;
        Assert.All(agent, r => Assert.Equal(["periscope-run"], r.ResourceNames));
        Assert.Equal(["get", "list", "watch"], agent.SelectMany(r => r.Verbs).Order());
        // Node conditions: read its Node, patch node status; nothing else cluster-wide (RBAC cannot pin a pod to its
        // own node: deploy/policies/agent-own-node.yaml does where the cluster supports it).
        var nodeStatus = roles.Single(r => r.Name == "periscope-agent-node-status").Rules;
        Assert.Equal(["get nodes", "patch nodes/status"], nodeStatus.SelectMany(r => r.Verbs.SelectMany(v => r.Resources.Select(res => $"{v} {res}"))).Order());
        Assert.All(nodeStatus, r => Assert.Equal([""], r.ApiGroups));
        // Node Events: the API takes them only in default; the Role there allows creating and patching events, nothing else.
        var eventsRole = objects.OfType<V1Role>().Single(r => r.Metadata.Name == "periscope-agent-events");
        Assert.Equal("default", eventsRole.Metadata.NamespaceProperty);
        Assert.Equal(["create events", "patch events"], eventsRole.Rules.SelectMany(r => r.Verbs.SelectMany(v => r.Resources.Select(res => $"{v} {res}"))).Order());
        var eventsBinding = objects.OfType<V1RoleBinding>().Single(b => b.Metadata.Name == "periscope-agent-events");
        Assert.Equal("default", eventsBinding.Metadata.NamespaceProperty);
        Assert.Equal(("periscope-agent", "periscope"), (Assert.Single(eventsBinding.Subjects).Name, eventsBinding.Subjects[0].NamespaceProperty));
        Assert.All(objects.OfType<k8s.IKubernetesObject<V1ObjectMeta>>().Where(x => x.Metadata.NamespaceProperty is not null && x.Metadata.Name != "periscope-agent-events"),
            x => Assert.Equal("periscope", x.Metadata.NamespaceProperty));
        var collectorRun = roles.Single(r => r.Name == "periscope-collector-run").Rules;
        Assert.Equal(["create", "get", "update"], collectorRun.SelectMany(r => r.Verbs).Order());
        Assert.All(collectorRun.Where(r => r.Verbs.Any(v => v != "create")), r => Assert.Equal(["periscope-run"], r.ResourceNames));
        var nodes = Assert.Single(roles.Single(r => r.Name == "periscope-collector-nodes").Rules);
        Assert.Equal(["nodes"], nodes.Resources);
        Assert.Equal(["list"], nodes.Verbs);
        // The cluster-scoped reads of a report: list only, and only these three.
        var state = roles.Single(r => r.Name == "periscope-collector-cluster-state").Rules;
        Assert.Equal(["/events list", "/pods list", "policy/poddisruptionbudgets list"],
            state.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}/{res} {v}")))).Order());
        foreach (var binding in objects.OfType<V1RoleBinding>())
        {
            Assert.Contains(roles, r => r.Name == binding.RoleRef.Name);
            Assert.All(binding.Subjects, s => Assert.Contains(objects.OfType<V1ServiceAccount>(), a => a.Metadata.Name == s.Name));
        }
    }

    [Fact]
    public async Task OwnNodePolicy_MatchesTheAgentsServiceAccount_AndPinsItToItsNodeAndItsConditionTypes()
    {
        var objects = await RenderAsync("minimal");
        var account = objects.OfType<V1ServiceAccount>().Single(a => a.Metadata.Name == "periscope-agent");
        var binding = objects.OfType<V1ClusterRoleBinding>().Single(b => b.Metadata.Name == "periscope-agent-node-status");
        var policyObjects = KubernetesYaml.LoadAllFromString(await File.ReadAllTextAsync(Path.Combine(Fixtures.Repository, "deploy", "policies", "agent-own-node.yaml")), strict: true);
        var policy = policyObjects.OfType<V1ValidatingAdmissionPolicy>().Single();
        var policyBinding = policyObjects.OfType<V1ValidatingAdmissionPolicyBinding>().Single();

        Assert.Equal(account.Metadata.NamespaceProperty, Assert.Single(binding.Subjects).NamespaceProperty);
        Assert.Contains($"'system:serviceaccount:{account.Metadata.NamespaceProperty}:{account.Metadata.Name}'", Assert.Single(policy.Spec.MatchConditions).Expression, StringComparison.Ordinal);
        Assert.Equal(["nodes/status"], Assert.Single(policy.Spec.MatchConstraints.ResourceRules).Resources);
        Assert.Contains(policy.Spec.Validations, v => v.Expression.Contains("authentication.kubernetes.io/node-name", StringComparison.Ordinal));
        Assert.Contains(policy.Spec.Validations, v => v.Expression.Contains("startsWith('Periscope')", StringComparison.Ordinal));
        Assert.Equal(policy.Metadata.Name, policyBinding.Spec.PolicyName);
        Assert.Equal(["Deny"], policyBinding.Spec.ValidationActions);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Otlp_StandardVariablesAreSet_AndTheEndpointOnlyWhereAnOverlayGivesOne(string overlay)
    {
        var env = Assert.Single(Agent(await RenderAsync(overlay)).Spec.Template.Spec.Containers).Env;

        Assert.Equal("grpc", env.Single(e => e.Name == "OTEL_EXPORTER_OTLP_PROTOCOL").Value);
        Assert.Equal("60000", env.Single(e => e.Name == "OTEL_METRIC_EXPORT_INTERVAL").Value);
        var endpoint = env.SingleOrDefault(e => e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT");
        if (overlay == "aks")
        {
            Assert.Null(endpoint!.Value); // from the overlay's settings, never a value and a reference at once
            Assert.Equal("OTLP_ENDPOINT", endpoint.ValueFrom.ConfigMapKeyRef.Key);
        }
        else
        {
            Assert.Null(endpoint); // off: no exporter runs
        }
    }

    [Fact]
    public async Task Dev_CollectorReadsTheAgentsSpoolReadOnly()
    {
        var objects = await RenderAsync("dev");
        var collector = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "periscope-collector").Spec.Template.Spec;
        var spool = Agent(objects).Spec.Template.Spec.Volumes.Single(v => v.Name == "spool").HostPath.Path;
        var container = Assert.Single(collector.Containers);
        var store = container.Env.Single(e => e.Name == "Periscope__Server__Store").Value;
        var mount = container.VolumeMounts.Single(m => m.MountPath == store);

        Assert.True(mount.ReadOnlyProperty);
        Assert.Equal(spool + "/spool", collector.Volumes.Single(v => v.Name == mount.Name).HostPath.Path);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
    }

    [Fact]
    public async Task Aks_AgentAndCollectorUseTheContainerWithWorkloadIdentity_AndNoKeyExistsAnywhere()
    {
        var objects = await RenderAsync("aks");
        var settings = Assert.Single(objects.OfType<V1ConfigMap>(), c => c.Metadata.Name.StartsWith("periscope-azure", StringComparison.Ordinal));
        var agent = Assert.Single(Agent(objects).Spec.Template.Spec.Containers);
        var collectorTemplate = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "periscope-collector").Spec.Template;
        var collector = Assert.Single(collectorTemplate.Spec.Containers);

        // The webhook injects the token and AZURE_* variables into pods with this label, for the client id on their ServiceAccount.
        foreach (var (template, account, key) in new[]
                 {
                     (Agent(objects).Spec.Template, "periscope-agent", "AGENT_CLIENT_ID"),
                     (collectorTemplate, "periscope-collector", "COLLECTOR_CLIENT_ID"),
                 })
        {
            Assert.Equal("true", template.Metadata.Labels["azure.workload.identity/use"]);
            Assert.Equal(account, template.Spec.ServiceAccountName);
            var annotations = objects.OfType<V1ServiceAccount>().Single(a => a.Metadata.Name == account).Metadata.Annotations;
            Assert.Equal(settings.Data[key], annotations["azure.workload.identity/client-id"]);
            Assert.True(Guid.TryParse(settings.Data[key], out _), $"{key} is not a client id");
        }

        var url = new Uri(settings.Data["CONTAINER_URL"]);
        Assert.Equal(Uri.UriSchemeHttps, url.Scheme);
        Assert.Equal(string.Empty, url.Query);
        var agentEnv = agent.Env.ToDictionary(e => e.Name);
        var collectorEnv = collector.Env.ToDictionary(e => e.Name);
        Assert.Equal("workload-identity", agentEnv["Periscope__Sinks__Blob__Auth"].Value);
        Assert.Equal("workload-identity", collectorEnv["Periscope__Server__BlobAuth"].Value);
        foreach (var reference in new[] { agentEnv["Periscope__Sinks__Blob__ContainerUrl"], collectorEnv["Periscope__Server__BlobContainerUrl"] })
        {
            Assert.Equal(settings.Metadata.Name, reference.ValueFrom.ConfigMapKeyRef.Name); // the generated name, hash and all
            Assert.Equal("CONTAINER_URL", reference.ValueFrom.ConfigMapKeyRef.Key);
        }

        Assert.Empty(objects.OfType<V1Secret>());
        foreach (var name in agentEnv.Keys.Concat(collectorEnv.Keys))
        {
            Assert.DoesNotMatch("(?i)ConnectionString|SasUrl|AccountKey|ClientSecret", name);
        }

        Assert.DoesNotContain(Agent(objects).Spec.Template.Spec.Volumes, v => v.Secret is not null || v.Projected is not null);
    }

    private static V1DaemonSet Agent(List<object> objects) => objects.OfType<V1DaemonSet>().Single(d => d.Metadata.Name == "periscope-agent");

    private static IEnumerable<(string Name, V1LabelSelector Selector, V1PodTemplateSpec Template)> Workloads(List<object> objects)
        => objects.OfType<V1DaemonSet>().Select(d => (d.Metadata.Name, d.Spec.Selector, d.Spec.Template))
            .Concat(objects.OfType<V1Deployment>().Select(d => (d.Metadata.Name, d.Spec.Selector, d.Spec.Template)));
}
