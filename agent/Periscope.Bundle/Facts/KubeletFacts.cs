using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>What the kubelet's process, config, kubeconfig, healthz and certificates say.</summary>
public sealed record KubeletFacts
{
    /// <summary>Whether a kubelet process was found in the host's /proc.</summary>
    [JsonRequired]
    public bool Running { get; init; }

    /// <summary>Its pid.</summary>
    public int? Pid { get; init; }

    /// <summary>Its command line (values of flags naming tokens, passwords or secrets are blanked).</summary>
    [JsonRequired]
    public IReadOnlyList<string> CommandLine { get; init; } = [];

    /// <summary>Kubelet version (<c>v1.29.2</c>), where known.</summary>
    public string? Version { get; init; }

    /// <summary>The config file read, as a node path.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Why the config could not be read or parsed.</summary>
    public string? ConfigError { get; init; }

    /// <summary>maxPods.</summary>
    public int? MaxPods { get; init; }

    /// <summary>evictionHard thresholds.</summary>
    public IReadOnlyDictionary<string, string>? EvictionHard { get; init; }

    /// <summary>cgroupDriver.</summary>
    public string? CgroupDriver { get; init; }

    /// <summary>clusterDNS addresses.</summary>
    [JsonRequired]
    public IReadOnlyList<string> ClusterDns { get; init; } = [];

    /// <summary>clusterDomain (default cluster.local).</summary>
    public string? ClusterDomain { get; init; }

    /// <summary>containerRuntimeEndpoint (config or flag).</summary>
    public string? ContainerRuntimeEndpoint { get; init; }

    /// <summary>The API server URL from the kubeconfig (never its credentials).</summary>
    public string? ApiServer { get; init; }

    /// <summary>The node labels the kubelet registers with (<c>--node-labels</c>).</summary>
    public IReadOnlyDictionary<string, string>? NodeLabels { get; init; }

    /// <summary>The healthz probe.</summary>
    public HealthzFacts? Healthz { get; init; }

    /// <summary>Certificates found under the kubelet's pki directory (only CERTIFICATE blocks are parsed).</summary>
    [JsonRequired]
    public IReadOnlyList<CertificateFacts> Certificates { get; init; } = [];

    /// <summary>The kubelet's log over the run's window (journal, or a plain log file as fallback).</summary>
    public KubeletLogFacts? Log { get; init; }
}

/// <summary>What was read of the kubelet's log, and which known signatures it holds.</summary>
/// <param name="Source"><c>journal</c>, the node path of the plain log file read, or null when neither had entries.</param>
/// <param name="Entries">Entries read in the window.</param>
/// <param name="Problem">Why the journal could not be read, when it could not.</param>
/// <param name="Signatures">Lines matching each log signature, by finding code.</param>
public sealed record KubeletLogFacts(string? Source, [property: JsonRequired] long Entries, string? Problem, [property: JsonRequired] IReadOnlyDictionary<string, long> Signatures);

/// <summary>The kubelet's healthz answer.</summary>
/// <param name="Url">The URL probed.</param>
/// <param name="StatusCode">HTTP status, where one came back.</param>
/// <param name="Body">The first 4 KiB of the body.</param>
/// <param name="Error">Why no answer came back.</param>
/// <param name="DurationMs">Wall time.</param>
public sealed record HealthzFacts([property: JsonRequired] string Url, int? StatusCode, string? Body, string? Error, [property: JsonRequired] double DurationMs);

/// <summary>One certificate.</summary>
/// <param name="File">Node path of the file holding it.</param>
/// <param name="Subject">Subject.</param>
/// <param name="Issuer">Issuer.</param>
/// <param name="NotBefore">Start of validity.</param>
/// <param name="NotAfter">End of validity.</param>
public sealed record CertificateFacts([property: JsonRequired] string File, [property: JsonRequired] string Subject, [property: JsonRequired] string Issuer, [property: JsonRequired] DateTimeOffset NotBefore, [property: JsonRequired] DateTimeOffset NotAfter);
