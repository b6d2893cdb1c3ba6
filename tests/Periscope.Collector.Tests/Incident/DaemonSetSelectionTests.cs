using k8s.Models;
using Periscope.Collector.Incident;
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
