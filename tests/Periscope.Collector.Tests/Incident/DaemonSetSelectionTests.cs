using k8s.Models;
using Periscope.Collector.Incident;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Incident;

/// <summary>Whom a DaemonSet runs on, as its controller decides, and what the shipped manifests become for one install.</summary>
public sealed class DaemonSetSelectionTests
{
    private static V1Node Node(string name, Dictionary<string, string>? labels = null, params V1Taint[] taints) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = labels ?? new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" } },
        Spec = new V1NodeSpec { Taints = taints },
    };

    private static V1PodSpec Template(Dictionary<string, string>? selector = null, V1Affinity? affinity = null, bool hostNetwork = false, params V1Toleration[] tolerations) => new()
    {
        NodeSelector = selector ?? new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" },
        Affinity = affinity,
        HostNetwork = hostNetwork,
        Tolerations = tolerations,
        Containers = [new V1Container { Name = "agent" }],
    };

    [Fact]
    public void Taints_NoScheduleAndNoExecuteKeepItOff_UnlessTolerated_PreferNoScheduleNever()
    {
        var gpu = Node("gpu", null, new V1Taint { Key = "sku", Value = "gpu", Effect = "NoSchedule" });
        Assert.Equal("it does not tolerate the node's taint sku=gpu:NoSchedule", DaemonSetSelection.WhyNot(Template(), gpu));
        Assert.Null(DaemonSetSelection.WhyNot(Template(null, null, false, new V1Toleration { Key = "sku", OperatorProperty = "Equal", Value = "gpu", Effect = "NoSchedule" }), gpu));
        Assert.NotNull(DaemonSetSelection.WhyNot(Template(null, null, false, new V1Toleration { Key = "sku", OperatorProperty = "Equal", Value = "cpu", Effect = "NoSchedule" }), gpu));
        Assert.Null(DaemonSetSelection.WhyNot(Template(null, null, false, new V1Toleration { OperatorProperty = "Exists" }), gpu)); // tolerates everything
        Assert.Null(DaemonSetSelection.WhyNot(Template(null, null, false, new V1Toleration { Key = "sku", OperatorProperty = "Exists", Effect = "NoExecute" }), Node("x", null, new V1Taint { Key = "sku", Effect = "PreferNoSchedule" })));
        Assert.NotNull(DaemonSetSelection.WhyNot(Template(null, null, false, new V1Toleration { Key = "sku", OperatorProperty = "Exists", Effect = "NoExecute" }), gpu)); // wrong effect
    }

    [Fact]
    public void TheControllersOwnTolerations_CordonedNotReadyAndPressuredNodesStillGetAPod_NetworkUnavailableOnlyWithHostNetwork()
    {
        Assert.Null(DaemonSetSelection.WhyNot(Template(), Node("c", null, new V1Taint { Key = "node.kubernetes.io/unschedulable", Effect = "NoSchedule" })));
        Assert.Null(DaemonSetSelection.WhyNot(Template(), Node("d", null, new V1Taint { Key = "node.kubernetes.io/not-ready", Effect = "NoExecute" })));
        Assert.Null(DaemonSetSelection.WhyNot(Template(), Node("m", null, new V1Taint { Key = "node.kubernetes.io/memory-pressure", Effect = "NoSchedule" })));
        var network = Node("n", null, new V1Taint { Key = "node.kubernetes.io/network-unavailable", Effect = "NoSchedule" });
        Assert.NotNull(DaemonSetSelection.WhyNot(Template(), network));
        Assert.Null(DaemonSetSelection.WhyNot(Template(hostNetwork: true), network));
    }

    [Fact]
    public void NodeSelectorAndRequiredAffinity_MustMatch()
    {
        Assert.Equal("its nodeSelector kubernetes.io/os=linux does not match (the node has kubernetes.io/os=windows)",
            DaemonSetSelection.WhyNot(Template(), Node("w", new Dictionary<string, string> { ["kubernetes.io/os"] = "windows" })));
        var notVirtual = new V1Affinity
        {
            NodeAffinity = new V1NodeAffinity
            {
                RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
                {
                    NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = [new V1NodeSelectorRequirement { Key = "type", OperatorProperty = "NotIn", Values = ["virtual-kubelet"] }] }],
                },
            },
        };
        Assert.Null(DaemonSetSelection.WhyNot(Template(affinity: notVirtual), Node("a")));
        Assert.NotNull(DaemonSetSelection.WhyNot(Template(affinity: notVirtual), Node("v", new Dictionary<string, string> { ["kubernetes.io/os"] = "linux", ["type"] = "virtual-kubelet" })));
    }

    [Fact]
    public void EmbeddedManifests_AksSettings_SetWhereverTheirPlaceholderStands()
    {
        var unset = EmbeddedManifests.Load("aks", "periscope", "r.example/a:1", "r.example/c:1");
        Assert.Equal(["AGENT_CLIENT_ID", "COLLECTOR_CLIENT_ID", "CONTAINER_URL"], unset.UnsetSettings);
        Assert.Equal("deploy/overlays/aks/azure.env", unset.SettingsFile);
        Assert.Empty(EmbeddedManifests.Load("minimal", "periscope", "r.example/a:1", "r.example/c:1").UnsetSettings);
        var shippedCopy = OverlaySettings.Read(Path.Combine(Fixtures.Repository, "deploy", "overlays", "aks", "azure.env"));
        Assert.Equal(["AGENT_CLIENT_ID", "COLLECTOR_CLIENT_ID", "CONTAINER_URL"], EmbeddedManifests.Load("aks", "periscope", null, null, settings: shippedCopy).UnsetSettings);

        var agentId = "11111111-2222-3333-4444-555555555555";
        var collectorId = "66666666-7777-8888-9999-000000000000";
        var manifests = EmbeddedManifests.Load("aks", "periscope", "r.example/a:1", "r.example/c:1", "run-1", new Dictionary<string, string>
        {
            ["CONTAINER_URL"] = "https://acct.blob.core.windows.net/diag",
            ["AGENT_CLIENT_ID"] = agentId,
            ["COLLECTOR_CLIENT_ID"] = collectorId,
            ["OTLP_ENDPOINT"] = "http://otel.monitoring.svc:4317",
        });

        Assert.Empty(manifests.UnsetSettings);
        string? Annotation(string account) => (string?)manifests.Objects.Single(o => o.Kind.Kind == "ServiceAccount" && o.Name == account).Body["metadata"]!["annotations"]!["azure.workload.identity/client-id"];
        Assert.Equal(agentId, Annotation("periscope-agent"));
        Assert.Equal(collectorId, Annotation("periscope-collector"));
        var settings = manifests.Objects.Single(o => o.Kind.Kind == "ConfigMap" && o.Name.StartsWith("periscope-azure-", StringComparison.Ordinal)).Body["data"]!;
        Assert.Equal("https://acct.blob.core.windows.net/diag", (string?)settings["CONTAINER_URL"]);
        Assert.Equal("http://otel.monitoring.svc:4317", (string?)settings["OTLP_ENDPOINT"]);
        var all = string.Join("\n", manifests.Objects.Select(o => o.Body.ToJsonString()));
        Assert.DoesNotContain("00000000-0000-0000-0000-0000000000", all, StringComparison.Ordinal);
        Assert.DoesNotContain("STORAGE-ACCOUNT", all, StringComparison.Ordinal);

        var unknown = Assert.Throws<ArgumentException>(() => EmbeddedManifests.Load("aks", "periscope", null, null, settings: new Dictionary<string, string> { ["CONTAINER"] = "x" }));
        Assert.Contains("has no setting CONTAINER (it has AGENT_CLIENT_ID, COLLECTOR_CLIENT_ID, CONTAINER_URL, OTLP_ENDPOINT)", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverlaySettings_ReadsEnvLines_AndRefusesWhatWouldFailLater()
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("azure.env");
        File.WriteAllText(file, "# filled in\n\nCONTAINER_URL = \"https://acct.blob.core.windows.net/periscope\"\nAGENT_CLIENT_ID=11111111-2222-3333-4444-555555555555\nOTLP_ENDPOINT=\n");
        var read = OverlaySettings.Read(file);
        Assert.Equal("https://acct.blob.core.windows.net/periscope", read["CONTAINER_URL"]);
        Assert.Equal("11111111-2222-3333-4444-555555555555", read["AGENT_CLIENT_ID"]);
        Assert.Equal(string.Empty, read["OTLP_ENDPOINT"]);

        foreach (var (line, problem) in new[]
        {
            ("CONTAINER_URL=https://acct.blob.core.windows.net/periscope?sv=2024-01-01&sig=abc", "no SAS or key"),
            ("CONTAINER_URL=http://acct.blob.core.windows.net/periscope", "absolute https URL"),
            ("AGENT_CLIENT_ID=my-identity", "must be a client id"),
            ("OTLP_ENDPOINT=otel:4317", "empty or an absolute http(s) URL"),
            ("just words", "expected KEY=VALUE"),
        })
        {
            File.WriteAllText(file, line + "\n");
            var refused = Assert.Throws<ArgumentException>(() => OverlaySettings.Read(file));
            Assert.Contains("line 1", refused.Message, StringComparison.Ordinal);
            Assert.Contains(problem, refused.Message, StringComparison.Ordinal);
        }

        Assert.Contains("--settings", Assert.Throws<ArgumentException>(() => OverlaySettings.Read(temp.Combine("absent.env"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmbeddedManifests_MovedToTheNamespace_ImagesSet_MarkedForTheCleanup()
    {
        Assert.Equal(["aks", "dev", "minimal"], EmbeddedManifests.Overlays);
        var unset = EmbeddedManifests.Load("minimal", "diag", null, null);
        Assert.Equal(["the agent (--image-agent)", "the collector (--image-collector)"], unset.Unconfigured);

        var manifests = EmbeddedManifests.Load("minimal", "diag", "r.example/a:1", "r.example/c:1", "run-9");
        Assert.Empty(manifests.Unconfigured);
        Assert.Equal("Namespace", manifests.Objects[0].Kind.Kind); // applied first
        Assert.Equal("DaemonSet", manifests.Objects[^1].Kind.Kind);
        Assert.Equal("diag", manifests.Objects[0].Name);
        Assert.All(manifests.Objects.Where(o => o.Kind.Namespaced && o.Namespace != "default"), o => Assert.Equal("diag", o.Namespace));
        Assert.All(manifests.Objects, o => Assert.Equal(("periscope-incident", "run-9"),
            ((string?)o.Body["metadata"]!["labels"]!["periscope.io/installed-by"], (string?)o.Body["metadata"]!["annotations"]!["periscope.io/incident-run"])));
        var agent = manifests.Objects.Single(o => o.Kind.Kind == "DaemonSet");
        Assert.Equal("r.example/a:1", (string?)agent.Body["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]);
        Assert.All(manifests.Objects.Where(o => o.Kind.Kind.EndsWith("Binding", StringComparison.Ordinal)).SelectMany(o => o.Body["subjects"]!.AsArray()),
            s => Assert.Equal("diag", (string?)s!["namespace"]));
        // Typed as YAML types them: a boolean stays a boolean, a quoted number a string.
        Assert.Equal(System.Text.Json.JsonValueKind.True, agent.Body["spec"]!["template"]!["spec"]!["containers"]![0]!["securityContext"]!["readOnlyRootFilesystem"]!.GetValueKind());
    }
}
