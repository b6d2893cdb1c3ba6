using Microsoft.Extensions.Options;

namespace Periscope.Agent.Signals;

/// <summary>Signals for automation (docs/signals.md). Bound from <c>Periscope:Signals</c>.</summary>
public sealed class SignalOptions
{
    public const string SectionName = "Periscope:Signals";

    /// <summary>
    /// How long a signal's finding must be absent before the signal clears (a condition goes back to False): no
    /// flapping. For a logged event, counted from its last occurrence.
    /// </summary>
    public TimeSpan HoldDown { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The node conditions (<c>PATCH nodes/{name}/status</c>).</summary>
    public ConditionOptions Conditions { get; set; } = new();

    /// <summary>Kubernetes Events on the Node for new occurrences of transient findings.</summary>
    public EventOptions Events { get; set; } = new();

    /// <summary>A kubeconfig to reach the API with; unset: the pod's service account (in-cluster).</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>The signal loop: cheap checks between full runs.</summary>
    public SignalLoopOptions Loop { get; set; } = new();

    /// <summary>
    /// Whether a <c>Publish</c> setting (<c>auto</c>, <c>on</c>, <c>off</c>) means the Kubernetes API is written:
    /// <c>auto</c> is on inside a Kubernetes pod or when a kubeconfig is set.
    /// </summary>
    public static bool ApiEnabled(string publish, string? kubeconfig, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return publish switch
        {
            "on" => true,
            "off" => false,
            _ => !string.IsNullOrEmpty(kubeconfig) || !string.IsNullOrEmpty(environment("KUBERNETES_SERVICE_HOST")),
        };
    }
}

public sealed class SignalLoopOptions
{
    /// <summary>Run the loop (the long-running agent only). Off: signals change only with full runs.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How often the checks run. 10 s by default: a problem shows as a condition within about that, well inside the
    /// 15 s goal (docs/performance.md), and a pass that sees what the last one saw writes nothing.
    /// </summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline of one check in a pass; a check that misses it proves nothing that pass.</summary>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Between passes, give back what they touched: the heap's garbage and the code pages they ran (left in the page
    /// cache). On by default: with it the agent's resident memory with the loop on is no higher than without
    /// (docs/performance.md); it costs a few milliseconds of CPU per interval.
    /// </summary>
    public bool ReleaseMemory { get; set; } = true;
}

public sealed class ConditionOptions
{
    /// <summary>
    /// <c>auto</c> (the default: on inside a Kubernetes pod or when a kubeconfig is set), <c>on</c> or <c>off</c>.
    /// </summary>
    public string Publish { get; set; } = "auto";

    /// <summary>
    /// Also set node-problem-detector's condition types (KernelDeadlock, ReadonlyFilesystem, FrequentKubeletRestart,
    /// FrequentContainerdRestart). Off by default: where NPD runs (AKS) it owns them.
    /// </summary>
    public bool NpdCompatible { get; set; }

    /// <summary>Periscope-owned types not to publish; one already on the node is removed.</summary>
    public IList<string> Exclude { get; set; } = [];

    /// <summary>How often every owned condition's lastHeartbeatTime is refreshed while nothing changes.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Longest wait between attempts after the API refused or failed a request (doubling from 1 s, with jitter).</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Deadline of one API request.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Whether conditions are published, given the environment.</summary>
    public bool IsOn(string? kubeconfig, Func<string, string?> environment) => SignalOptions.ApiEnabled(Publish, kubeconfig, environment);
}

public sealed class EventOptions
{
    /// <summary><c>auto</c> (like conditions), <c>on</c> or <c>off</c>.</summary>
    public string Publish { get; set; } = "auto";

    /// <summary>
    /// The namespace Node events go to: <c>default</c>. The API accepts an Event about a cluster-scoped object (a Node)
    /// only there; it is where the kubelet's and node-problem-detector's Node events are, and where
    /// <c>kubectl describe node</c> and <c>kubectl events --for node/NAME</c> find them.
    /// </summary>
    public string Namespace { get; set; } = "default";

    /// <summary>Most Event writes (creates and count updates) per minute; more are dropped and counted.</summary>
    public int PerMinute { get; set; } = 10;

    /// <summary>How long an Event's count is added to rather than a new Event created, for the same code and subject.</summary>
    public TimeSpan DedupeWindow { get; set; } = TimeSpan.FromMinutes(30);
}

internal sealed class SignalOptionsValidator : IValidateOptions<SignalOptions>
{
    public ValidateOptionsResult Validate(string? name, SignalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var s = SignalOptions.SectionName;
        if (options.HoldDown < TimeSpan.Zero || options.HoldDown > TimeSpan.FromDays(1))
        {
            failures.Add($"{s}:HoldDown must be between 0 and 1 day (found {options.HoldDown}).");
        }

        if (options.Conditions.Publish is not ("auto" or "on" or "off"))
        {
            failures.Add($"{s}:Conditions:Publish must be auto, on or off (found '{options.Conditions.Publish}').");
        }

        if (options.Events.Publish is not ("auto" or "on" or "off"))
        {
            failures.Add($"{s}:Events:Publish must be auto, on or off (found '{options.Events.Publish}').");
        }

        if (options.Conditions.HeartbeatInterval < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{s}:Conditions:HeartbeatInterval must be at least 1 s (found {options.Conditions.HeartbeatInterval}).");
        }

        if (options.Conditions.MaxBackoff < TimeSpan.FromSeconds(1) || options.Conditions.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{s}:Conditions:MaxBackoff must be at least 1 s and RequestTimeout positive.");
        }

        foreach (var type in options.Conditions.Exclude)
        {
            if (!SignalMap.OwnedConditions.Contains(type, StringComparer.Ordinal))
            {
                failures.Add($"{s}:Conditions:Exclude names '{type}', which is not a condition type Periscope owns ({string.Join(", ", SignalMap.OwnedConditions)}).");
            }
        }

        if (options.Loop.Interval < TimeSpan.FromSeconds(1) || options.Loop.CheckTimeout <= TimeSpan.Zero || options.Loop.CheckTimeout > options.Loop.Interval * 10)
        {
            failures.Add($"{s}:Loop:Interval must be at least 1 s and Loop:CheckTimeout positive (found {options.Loop.Interval} and {options.Loop.CheckTimeout}).");
        }

        if (options.Events.PerMinute < 1)
        {
            failures.Add($"{s}:Events:PerMinute must be at least 1 (found {options.Events.PerMinute}).");
        }

        if (string.IsNullOrWhiteSpace(options.Events.Namespace))
        {
            failures.Add($"{s}:Events:Namespace must name a namespace.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
