using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Periscope.Collector.Api;

/// <summary><c>periscope-collector serve</c>. Bound from <c>Periscope:Server</c>; the flags win.</summary>
public sealed class ServerOptions
{
    public const string SectionName = "Periscope:Server";

    /// <summary>The store directory the runs are read from (unless a Blob container is configured).</summary>
    public string Store { get; set; } = "periscope-data";

    /// <summary>
    /// Read the store from this Blob container URL instead: with a SAS granting read and list, or without a query when
    /// <see cref="BlobAuth"/> is an identity.
    /// </summary>
    public string? BlobContainerUrl { get; set; }

    /// <summary>
    /// How the Blob store is read: <c>sas</c>, <c>connection-string</c>, <c>workload-identity</c> or
    /// <c>managed-identity</c>; unset: inferred (a connection string file, else a SAS URL).
    /// </summary>
    public string? BlobAuth { get; set; }

    /// <summary>The user-assigned managed identity's client id (or, for workload identity, instead of <c>AZURE_CLIENT_ID</c>).</summary>
    public string? BlobClientId { get; set; }

    /// <summary>Or from Blob Storage with the connection string in this file (a mounted Secret) …</summary>
    public string? BlobConnectionStringFile { get; set; }

    /// <summary>… and this container.</summary>
    [Required]
    public string BlobContainer { get; set; } = "periscope";

    /// <summary>How long one request to Blob Storage may go unanswered (each is tried three times).</summary>
    public TimeSpan BlobTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Kubernetes access, to start runs (writing the run-id ConfigMap) and list the expected nodes: <c>auto</c> (the
    /// default) when the service runs in a pod (<c>KUBERNETES_SERVICE_HOST</c>) or <see cref="Kubeconfig"/> is set;
    /// <c>off</c> never.
    /// </summary>
    public string Kubernetes { get; set; } = "auto";

    /// <summary>A kubeconfig to reach the API with; unset: the pod's service account.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>The agents' namespace, where the run-id ConfigMap lives; unset: this pod's (<c>POD_NAMESPACE</c>, the kubeconfig's, the service account's).</summary>
    public string? RunNamespace { get; set; }

    /// <summary>The run-id ConfigMap's name (the agents' <c>Periscope:Triggers:ConfigMap:Name</c>).</summary>
    [Required]
    public string RunConfigMap { get; set; } = "periscope-run";

    /// <summary>
    /// Where the nodes a run should have come from: <c>auto</c> (the default: the Kubernetes nodes list when the API can
    /// be reached, see <see cref="Kubernetes"/>; else the previous run's), <c>kubernetes</c> or <c>previous-run</c>.
    /// Listing nodes needs list on nodes (a ClusterRole).
    /// </summary>
    public string ExpectedNodes { get; set; } = "auto";

    /// <summary>The label selector of the agent DaemonSet's nodes (its nodeSelector).</summary>
    public string NodeSelector { get; set; } = Sources.KubernetesNodeList.DefaultLabelSelector;

    public bool CanStartRuns => Kubernetes != "off"
        && (!string.IsNullOrEmpty(Kubeconfig) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")));

    public bool UsesBlob => Blob.Configured;

    /// <summary>The Blob store these options name.</summary>
    internal Sources.BlobStoreSettings Blob => new(BlobContainerUrl, BlobConnectionStringFile, BlobContainer, BlobAuth, BlobClientId);

    private static readonly Sources.BlobStoreSettings.SettingNames BlobNames = new(
        $"{SectionName}:BlobContainerUrl", $"{SectionName}:BlobConnectionStringFile", $"{SectionName}:BlobAuth");

    /// <summary>
    /// A file holding the bearer token (a mounted Secret), re-read on every check: API clients send it as
    /// <c>Authorization: Bearer</c>, a browser signs in with it once and then holds a session cookie.
    /// </summary>
    public string? TokenFile { get; set; }

    /// <summary>Address and port to listen on.</summary>
    public string Listen { get; set; } = "127.0.0.1:8080";

    /// <summary>How long a browser session lasts after signing in (not sliding).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>
    /// How bundles are downloaded: <c>stream</c> (the default: through the service) or <c>sas</c> (a Blob store read with
    /// an account key or an identity: the service answers 302 to a read-only SAS URL of that one blob, valid for
    /// <see cref="SasLifetime"/>, so the bytes do not pass through it; an identity signs it with a user delegation key).
    /// </summary>
    public string Downloads { get; set; } = "stream";

    /// <summary>How long a download SAS is valid.</summary>
    public TimeSpan SasLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the store is listed for new runs (and changed ones).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long one listing of the store may take before it is abandoned (a hung filesystem cannot be cancelled, only
    /// left behind); no new listing starts while an abandoned one has not returned.
    /// </summary>
    public TimeSpan ListingTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How many reports are built or rendered at once (others wait): with the cache size, it bounds memory.</summary>
    public int MaxConcurrentReports { get; set; } = 2;

    /// <summary>How many run reports are kept built (the most recently opened).</summary>
    public int ReportCacheSize { get; set; } = 4;

    /// <summary>The longest a built report is served, even when its run has not changed (the nodes list may have).</summary>
    public TimeSpan ReportCacheLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How many bundles are read at once when a report is built (default: 64 from Blob Storage, one per processor from a
    /// directory).
    /// </summary>
    public int? ParallelReads { get; set; }

    /// <summary>The store this configuration names; it keeps each bundle it read for the <see cref="ReportCacheSize"/> runs read last.</summary>
    internal Sources.IBundleSource OpenSource()
    {
        if (!UsesBlob)
        {
            return new Sources.DirectoryBundleSource(Store, parallelReads: ParallelReads, cachedRuns: ReportCacheSize);
        }

        return Sources.BlobBundleSource.Open(Blob, BlobTimeout, ParallelReads ?? Sources.BlobBundleSource.DefaultParallelReads, ReportCacheSize, listingReuse: PollInterval + ListingTimeout);
    }

    /// <summary>The Kubernetes nodes list, when this configuration asks for it and allows it.</summary>
    internal Sources.IExpectedNodeSource? OpenExpectedNodes()
        => Sources.ExpectedNodeSources.Open(ExpectedNodes, Kubeconfig, NodeSelector, allowed: Kubernetes != "off");

    /// <summary>Every problem at once.</summary>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(TokenFile))
        {
            failures.Add($"{SectionName}:TokenFile (--token-file) is required: the service never serves a bundle to an unauthenticated caller.");
        }
        else if (!File.Exists(TokenFile))
        {
            failures.Add($"{SectionName}:TokenFile '{TokenFile}' does not exist.");
        }

        if (UsesBlob || !string.IsNullOrWhiteSpace(BlobAuth))
        {
            failures.AddRange(Blob.Validate(BlobNames).Select(f => $"{SectionName}: {f}"));
        }

        if (!UsesBlob && !Directory.Exists(Store))
        {
            failures.Add($"{SectionName}:Store '{Store}' is not a directory.");
        }

        if (!System.Net.IPEndPoint.TryParse(Listen ?? string.Empty, out _))
        {
            failures.Add($"{SectionName}:Listen must be an address and port such as 127.0.0.1:8080 (found '{Listen}').");
        }

        if (Kubernetes is not ("auto" or "off"))
        {
            failures.Add($"{SectionName}:Kubernetes must be auto or off (found '{Kubernetes}').");
        }

        if (!Sources.ExpectedNodeSources.Modes.Contains(ExpectedNodes))
        {
            failures.Add($"{SectionName}:ExpectedNodes must be auto, kubernetes or previous-run (found '{ExpectedNodes}').");
        }
        else if (ExpectedNodes == "kubernetes" && (Kubernetes == "off" || !Sources.ExpectedNodeSources.HasAccess(Kubeconfig)))
        {
            failures.Add($"{SectionName}:ExpectedNodes kubernetes needs Kubernetes access: set Kubeconfig, or run in a pod, and do not set Kubernetes to off.");
        }

        if (!string.IsNullOrEmpty(Kubeconfig) && !File.Exists(Kubeconfig))
        {
            failures.Add($"{SectionName}:Kubeconfig '{Kubeconfig}' does not exist.");
        }

        if (Downloads is not ("stream" or "sas"))
        {
            failures.Add($"{SectionName}:Downloads must be stream or sas (found '{Downloads}').");
        }
        else if (Downloads == "sas" && !(UsesBlob && Blob.EffectiveAuth is "connection-string" or "workload-identity" or "managed-identity"))
        {
            failures.Add($"{SectionName}:Downloads sas needs a Blob store read with an account key connection string (BlobConnectionStringFile) or an identity (BlobAuth): a directory store or a container SAS URL cannot sign one.");
        }

        if (SasLifetime < TimeSpan.FromMinutes(1) || SasLifetime > TimeSpan.FromHours(1))
        {
            failures.Add($"{SectionName}:SasLifetime must be between one minute and one hour (found {SasLifetime}).");
        }

        if (BlobTimeout < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{SectionName}:BlobTimeout must be at least one second (found {BlobTimeout}).");
        }

        if (PollInterval < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{SectionName}:PollInterval must be at least one second (found {PollInterval}).");
        }

        if (MaxConcurrentReports is < 1 or > 64)
        {
            failures.Add($"{SectionName}:MaxConcurrentReports must be between 1 and 64 (found {MaxConcurrentReports}).");
        }

        if (ListingTimeout < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{SectionName}:ListingTimeout must be at least one second (found {ListingTimeout}).");
        }

        if (ParallelReads is < 1 or > Sources.BlobBundleSource.MaxParallelReads)
        {
            failures.Add($"{SectionName}:ParallelReads must be between 1 and {Sources.BlobBundleSource.MaxParallelReads} (found {ParallelReads}).");
        }

        if (ReportCacheSize < 1)
        {
            failures.Add($"{SectionName}:ReportCacheSize must be at least 1 (found {ReportCacheSize}).");
        }

        if (ReportCacheLifetime < TimeSpan.Zero)
        {
            failures.Add($"{SectionName}:ReportCacheLifetime must not be negative.");
        }

        if (SessionLifetime < TimeSpan.FromMinutes(1))
        {
            failures.Add($"{SectionName}:SessionLifetime must be at least one minute.");
        }

        return failures;
    }
}

/// <summary>The settings' attributes (required values, ranges), checked by generated code.</summary>
[OptionsValidator]
internal sealed partial class ServerOptionsValidator : IValidateOptions<ServerOptions>;

/// <summary>
/// The rules that join settings (<see cref="ServerOptions.Validate"/>: files that must exist, a Blob store named once,
/// what a SAS download needs), every problem at once; and that a store read with a connection string can sign a SAS.
/// </summary>
internal sealed class ServerOptionsRules : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = options.Validate().ToList();
        if (failures.Count == 0 && options.Downloads == "sas" && options.OpenSource() is Sources.BlobBundleSource { CanSign: false })
        {
            failures.Add($"{ServerOptions.SectionName}:Downloads sas needs the account key in the connection string (or an identity): a connection string with a SAS cannot sign one.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
