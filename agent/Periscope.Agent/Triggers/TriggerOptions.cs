using Microsoft.Extensions.Options;

namespace Periscope.Agent.Triggers;

/// <summary>What starts a run of the long-running agent. Bound from <c>Periscope:Triggers</c>.</summary>
public sealed class TriggerOptions
{
    public const string SectionName = "Periscope:Triggers";

    /// <summary>The run-id ConfigMap (DESIGN.md's run trigger).</summary>
    public ConfigMapTriggerOptions ConfigMap { get; set; } = new();

    /// <summary>Collect every this often (runs named by their UTC start time); off while unset.</summary>
    public TimeSpan? Interval { get; set; }

    /// <summary>Comma-separated collectors of an interval run; all when unset.</summary>
    public string? IntervalCollectors { get; set; }
}

/// <summary>
/// Where the run-id ConfigMap is read: through the Kubernetes API (list, then watch) or from its files mounted into
/// the pod (where the agent may not watch the API).
/// </summary>
public sealed class ConfigMapTriggerOptions
{
    /// <summary>
    /// <c>api</c>, <c>files</c>, <c>none</c>, or <c>auto</c> (the default): <c>api</c> inside a Kubernetes pod
    /// (<c>KUBERNETES_SERVICE_HOST</c> is set) or when <see cref="Kubeconfig"/> is set, else <c>none</c>.
    /// </summary>
    public string Source { get; set; } = "auto";

    /// <summary>The ConfigMap's name.</summary>
    public string Name { get; set; } = "periscope-run";

    /// <summary>Its namespace; by default the agent's own (<c>POD_NAMESPACE</c>, else the service account's namespace file).</summary>
    public string? Namespace { get; set; }

    /// <summary>A kubeconfig file to reach the API with; unset: the pod's service account (in-cluster).</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>How long one watch request may stay open before the API server ends it and the agent watches again.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Longest wait before reconnecting after an error (doubling from one second, with jitter).</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>With <c>files</c>: the directory the ConfigMap is mounted at (files <c>runId</c>, <c>collectors</c>, <c>since</c>).</summary>
    public string Directory { get; set; } = "/etc/periscope/run";

    /// <summary>With <c>files</c>: how often the directory is read (the kubelet refreshes a mounted ConfigMap within about a minute).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The source this configuration resolves to, given the environment.</summary>
    public string ResolvedSource(Func<string, string?> environment)
        => Source switch
        {
            "auto" when !string.IsNullOrEmpty(Kubeconfig) || !string.IsNullOrEmpty(environment("KUBERNETES_SERVICE_HOST")) => "api",
            "auto" => "none",
            _ => Source,
        };
}

/// <summary>Every problem with the triggers' settings at once, at start.</summary>
internal sealed class TriggerOptionsValidator : IValidateOptions<TriggerOptions>
{
    public ValidateOptionsResult Validate(string? name, TriggerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var section = $"{TriggerOptions.SectionName}:ConfigMap";
        var c = options.ConfigMap;
        if (c.Source is not ("auto" or "api" or "files" or "none"))
        {
            failures.Add($"{section}:Source must be auto, api, files or none (found '{c.Source}').");
        }

        if (string.IsNullOrWhiteSpace(c.Name))
        {
            failures.Add($"{section}:Name must name the run-id ConfigMap.");
        }

        if (c.Source == "files" && string.IsNullOrWhiteSpace(c.Directory))
        {
            failures.Add($"{section}:Source is files but Directory is not set.");
        }

        if (c.Kubeconfig is { Length: > 0 } kubeconfig && !File.Exists(kubeconfig))
        {
            failures.Add($"{section}:Kubeconfig '{kubeconfig}' does not exist.");
        }

        if (c.WatchTimeout < TimeSpan.FromSeconds(1) || c.WatchTimeout > TimeSpan.FromHours(1))
        {
            failures.Add($"{section}:WatchTimeout must be between 1 second and 1 hour (found {c.WatchTimeout}).");
        }

        if (c.MaxBackoff < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{section}:MaxBackoff must be at least 1 second (found {c.MaxBackoff}).");
        }

        if (c.PollInterval < TimeSpan.FromMilliseconds(100))
        {
            failures.Add($"{section}:PollInterval must be at least 100 ms (found {c.PollInterval}).");
        }

        if (options.Interval is { } interval && interval < TimeSpan.FromMinutes(1))
        {
            failures.Add($"{TriggerOptions.SectionName}:Interval must be at least 1 minute when set (found {interval}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
