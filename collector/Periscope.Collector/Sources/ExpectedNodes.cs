namespace Periscope.Collector.Sources;

/// <summary>
/// The nodes a run should have a bundle from, and where that list came from: the Kubernetes nodes list when the
/// collector has access to it, else the nodes of the previous run.
/// </summary>
/// <param name="Source"><c>kubernetes</c> or <c>previous-run</c>.</param>
/// <param name="Nodes">The expected nodes, in name order.</param>
/// <param name="PreviousRunId">With <c>previous-run</c>: that run.</param>
/// <param name="Excluded">Nodes listed by Kubernetes but not expected (joined after the run started), by name.</param>
internal sealed record ExpectedNodes(string Source, IReadOnlyList<ExpectedNode> Nodes, string? PreviousRunId = null, IReadOnlyList<string>? Excluded = null)
{
    /// <summary>With <c>kubernetes</c>: the cluster-scoped reads made with the nodes list (budgets, pods, Node events).</summary>
    public ClusterState? Cluster { get; init; }

    public const string Kubernetes = "kubernetes";
    public const string PreviousRun = "previous-run";

    public static ExpectedNodes FromPreviousRun(PreviousRun previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        return new(PreviousRun, previous.Nodes.Order(StringComparer.Ordinal).Select(n => new ExpectedNode(n)).ToList(), previous.RunId);
    }
}

/// <summary>A node the run should have a bundle from.</summary>
/// <param name="Name">Node name.</param>
/// <param name="Pool">Its pool, from the same labels the agent reads (Kubernetes source only).</param>
/// <param name="Ready">Its Ready condition: true, false, or null when unknown or not from Kubernetes.</param>
/// <param name="NotReadyReason">With <paramref name="Ready"/> false or unknown: the condition's reason and since when.</param>
/// <param name="Cordoned">spec.unschedulable (a DaemonSet still runs there).</param>
/// <param name="Created">metadata.creationTimestamp.</param>
internal sealed record ExpectedNode(string Name, string? Pool = null, bool? Ready = null, string? NotReadyReason = null, bool Cordoned = false, DateTimeOffset? Created = null)
{
    /// <summary>The conditions the Periscope agent owns on this node (docs/signals.md), as the API holds them.</summary>
    public IReadOnlyList<OwnedCondition> OwnedConditions { get; init; } = [];

    /// <summary>
    /// Conditions of other reporters that are True: not the kubelet's own (Ready, the pressures, NetworkUnavailable)
    /// nor Periscope's — node-problem-detector's KernelDeadlock, ReadonlyFilesystem, FilesystemCorruptionProblem,
    /// VMEventScheduled, Frequent*Restart and the like.
    /// </summary>
    public IReadOnlyList<ProblemCondition> ProblemConditions { get; init; } = [];

    /// <summary>AKS's label <c>kubernetes.azure.com/upgrade-status=Quarantined</c>: an upgrade could not drain the node.</summary>
    public bool Quarantined { get; init; }

    /// <summary>The annotation <c>cluster-autoscaler.kubernetes.io/scale-down-disabled=true</c> (set on nodes an upgrade holds).</summary>
    public bool ScaleDownDisabled { get; init; }

    /// <summary>AKS's pool mode (label <c>kubernetes.azure.com/mode</c>: <c>system</c> or <c>user</c>).</summary>
    public string? Mode { get; init; }

    /// <summary>
    /// With <see cref="ExpectedNode.Cordoned"/>: the newest time a field manager that owns <c>spec.unschedulable</c> wrote
    /// the Node (<c>metadata.managedFields</c>, e.g. manager <c>kubectl-cordon</c>). The cordon happened at or before it,
    /// so the node has been cordoned at least since then; null when no manager's entry owns the field.
    /// </summary>
    public DateTimeOffset? CordonedBy { get; init; }

    /// <summary>spec.taints.</summary>
    public IReadOnlyList<NodeTaint> Taints { get; init; } = [];
}

/// <summary>A taint of a node (<c>spec.taints[]</c>).</summary>
internal sealed record NodeTaint(string Key, string? Value, string Effect);

/// <summary>
/// Evidence from earlier runs that a node has been cordoned: its bundles' manifests (node identity <c>cordoned</c>)
/// said so in every run checked from <paramref name="FirstRunId"/>, which started at <paramref name="Since"/>, to this one.
/// </summary>
/// <param name="Node">The node.</param>
/// <param name="FirstRunId">The oldest run checked, where it was already cordoned.</param>
/// <param name="Since">That run's start.</param>
/// <param name="RunsChecked">How many earlier runs were read for it.</param>
internal sealed record CordonHistory(string Node, string FirstRunId, DateTimeOffset Since, int RunsChecked);

/// <summary>A True node condition set by a problem detector.</summary>
internal sealed record ProblemCondition(string Type, string? Reason, string? Message, DateTimeOffset? Since)
{
    /// <summary>The kubelet's own condition types (and the route controller's), which are not problem reports of this kind.</summary>
    public static readonly IReadOnlySet<string> KubeletTypes = new HashSet<string>(StringComparer.Ordinal) { "Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable" };
}

/// <summary>A node condition the Periscope agent owns: a <c>Periscope</c> type, or another type whose message it wrote.</summary>
internal sealed record OwnedCondition(string Type, string Status, string? Reason, DateTimeOffset? LastHeartbeatTime, DateTimeOffset? LastTransitionTime)
{
    public const string TypePrefix = "Periscope";
    public const string MessagePrefix = "periscope-agent: ";

    public static bool IsOwned(string? type, string? message)
        => type?.StartsWith(TypePrefix, StringComparison.Ordinal) == true || message?.StartsWith(MessagePrefix, StringComparison.Ordinal) == true;
}

/// <summary>The run before this one (newest start time before it) and the nodes it had.</summary>
internal sealed record PreviousRun(string RunId, IReadOnlyList<string> Nodes);
