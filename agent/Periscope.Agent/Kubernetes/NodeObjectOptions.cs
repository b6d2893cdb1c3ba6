using Microsoft.Extensions.Options;

namespace Periscope.Agent.Kubernetes;

/// <summary>
/// Reading the agent's own Node object for its labels (pool, mode, priority, zone, instance type, node image):
/// what the cloud node manager and the node pool set, which the kubelet's <c>--node-labels</c> do not carry. Bound
/// from <c>Periscope:NodeObject</c>.
/// </summary>
public sealed class NodeObjectOptions
{
    public const string SectionName = "Periscope:NodeObject";

    /// <summary><c>auto</c> (the default: inside a Kubernetes pod or when a kubeconfig is set), <c>on</c> or <c>off</c>.</summary>
    public string Read { get; set; } = "auto";

    /// <summary>A kubeconfig to reach the API with; unset: the pod's service account (in-cluster).</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>Deadline of the one GET; the run does not wait longer for it.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether the Node object is read, given the environment.</summary>
    public bool IsOn(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return Read switch
        {
            "on" => true,
            "off" => false,
            _ => !string.IsNullOrEmpty(Kubeconfig) || !string.IsNullOrEmpty(environment("KUBERNETES_SERVICE_HOST")),
        };
    }
}

internal sealed class NodeObjectOptionsValidator : IValidateOptions<NodeObjectOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeObjectOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Read is not ("auto" or "on" or "off"))
        {
            failures.Add($"{NodeObjectOptions.SectionName}:Read must be auto, on or off (found '{options.Read}').");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{NodeObjectOptions.SectionName}:Timeout must be above zero and at most a minute (found {options.Timeout}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
