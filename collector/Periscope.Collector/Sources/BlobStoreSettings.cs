using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace Periscope.Collector.Sources;

/// <summary>
/// How the collector reaches a store in a Blob container, for <c>report</c>, <c>verify</c> and <c>serve</c> alike:
/// <list type="bullet">
/// <item><c>sas</c>: <see cref="ContainerUrl"/> carries a container SAS granting read and list;</item>
/// <item><c>connection-string</c>: <see cref="ConnectionStringFile"/> (a mounted Secret) with <see cref="Container"/>;</item>
/// <item><c>workload-identity</c>: the pod's federated Kubernetes token exchanged for an Entra ID token (the variables
/// the AKS webhook injects: <c>AZURE_CLIENT_ID</c>, <c>AZURE_TENANT_ID</c>, <c>AZURE_FEDERATED_TOKEN_FILE</c>,
/// <c>AZURE_AUTHORITY_HOST</c>), with <see cref="ContainerUrl"/> the container's https URL and no key anywhere;</item>
/// <item><c>managed-identity</c>: the node's or VM's identity (user-assigned with <see cref="ClientId"/>).</item>
/// <item><c>azure-cli</c>: the engineer's own sign-in on their machine (<c>az login</c>: Azure.Identity's
/// AzureCliCredential), for <c>incident</c> and <c>report</c> run from a laptop; the identity needs the same role.</item>
/// </list>
/// With no <see cref="Auth"/>, a connection string file means <c>connection-string</c> and a URL means <c>sas</c>.
/// An identity needs Storage Blob Data Reader on the container (read and list); signing download SAS URLs with a user
/// delegation key also needs Storage Blob Delegator on the storage account.
/// </summary>
internal sealed record BlobStoreSettings(string? ContainerUrl, string? ConnectionStringFile, string Container, string? Auth, string? ClientId)
{
    public static readonly string[] AuthModes = ["sas", "connection-string", "workload-identity", "managed-identity", "azure-cli"];

    /// <summary>True when any Blob setting names a store.</summary>
    public bool Configured => !string.IsNullOrWhiteSpace(ContainerUrl) || !string.IsNullOrWhiteSpace(ConnectionStringFile);

    /// <summary>The mode in effect: the one named, else inferred from what is set.</summary>
    public string EffectiveAuth => !string.IsNullOrWhiteSpace(Auth) ? Auth!
        : !string.IsNullOrWhiteSpace(ConnectionStringFile) ? "connection-string"
        : "sas";

    /// <summary>True when the store is read with an Entra ID token (which signs downloads with a user delegation key).</summary>
    public bool UsesIdentity => EffectiveAuth is "workload-identity" or "managed-identity" or "azure-cli";

    /// <summary>Every problem at once, each naming the setting as <paramref name="names"/> spells it (flags or configuration keys).</summary>
    public IReadOnlyList<string> Validate(SettingNames names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(ContainerUrl) && !string.IsNullOrWhiteSpace(ConnectionStringFile))
        {
            failures.Add($"set {names.ContainerUrl} or {names.ConnectionStringFile}, not both.");
        }

        var auth = EffectiveAuth;
        if (!AuthModes.Contains(auth))
        {
            failures.Add($"{names.Auth} must be {string.Join(", ", AuthModes)} (found '{auth}').");
            return failures;
        }

        if (auth == "connection-string")
        {
            if (string.IsNullOrWhiteSpace(ConnectionStringFile))
            {
                failures.Add($"{names.Auth} connection-string needs {names.ConnectionStringFile}.");
            }
            else if (!File.Exists(ConnectionStringFile))
            {
                failures.Add($"{names.ConnectionStringFile} '{ConnectionStringFile}' does not exist.");
            }

            return failures;
        }

        if (!Uri.TryCreate(ContainerUrl, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http") || url.AbsolutePath.Trim('/').Length == 0)
        {
            failures.Add($"{names.Auth} {auth} needs {names.ContainerUrl}, the container's URL (found '{Redacted(ContainerUrl)}').");
            return failures;
        }

        if (auth == "sas")
        {
            if (!url.Query.Contains("sig=", StringComparison.Ordinal))
            {
                failures.Add($"{names.ContainerUrl} carries no SAS (no sig= in its query): add a container SAS granting read and list, or read with an identity ({names.Auth} workload-identity or managed-identity).");
            }

            return failures;
        }

        if (url.Query.Length > 0)
        {
            failures.Add($"{names.Auth} {auth}: {names.ContainerUrl} must be the container's URL without a query (a SAS is not needed with an identity).");
        }

        if (url.Scheme != Uri.UriSchemeHttps)
        {
            failures.Add($"{names.Auth} {auth}: {names.ContainerUrl} must be https (a bearer token is never sent in the clear).");
        }

        if (auth == "workload-identity")
        {
            var missing = new[]
                {
                    (ClientId ?? Environment.GetEnvironmentVariable("AZURE_CLIENT_ID"), "AZURE_CLIENT_ID"),
                    (Environment.GetEnvironmentVariable("AZURE_TENANT_ID"), "AZURE_TENANT_ID"),
                    (Environment.GetEnvironmentVariable("AZURE_FEDERATED_TOKEN_FILE"), "AZURE_FEDERATED_TOKEN_FILE"),
                }
                .Where(v => string.IsNullOrWhiteSpace(v.Item1)).Select(v => v.Item2).ToList();
            if (missing.Count > 0)
            {
                failures.Add($"{names.Auth} workload-identity but {string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not set: is the pod labelled azure.workload.identity/use=true, and its ServiceAccount annotated with the identity's client id?");
            }
        }

        return failures;
    }

    /// <summary>
    /// The container client, with bounded retries (2, backoff from 0.5 s) and a per-try network deadline, so a store
    /// that stops answering fails a listing or a read in about three deadlines instead of the SDK's minutes.
    /// </summary>
    public BlobContainerClient Open(TimeSpan networkTimeout)
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.Delay = TimeSpan.FromMilliseconds(500);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(4);
        options.Retry.NetworkTimeout = networkTimeout;
        return EffectiveAuth switch
        {
            "connection-string" => new BlobContainerClient(File.ReadAllText(ConnectionStringFile!).Trim(), Container, options),
            "workload-identity" or "managed-identity" or "azure-cli" => new BlobContainerClient(new Uri(ContainerUrl!), Credential(networkTimeout), options),
            _ => new BlobContainerClient(new Uri(ContainerUrl!), options),
        };
    }

    /// <summary>
    /// The specific credential named, never a chain that tries others: the collector must not read the store as an
    /// identity nobody chose. Its token is cached and renewed by the client for the life of the source.
    /// </summary>
    private TokenCredential Credential(TimeSpan networkTimeout)
    {
        if (EffectiveAuth == "azure-cli")
        {
            // `az account get-access-token` under a deadline: a CLI that is not signed in fails with its own message.
            return new AzureCliCredential(new AzureCliCredentialOptions { ProcessTimeout = TimeSpan.FromSeconds(30) });
        }

        if (EffectiveAuth == "workload-identity")
        {
            var options = new WorkloadIdentityCredentialOptions
            {
                ClientId = string.IsNullOrWhiteSpace(ClientId) ? Environment.GetEnvironmentVariable("AZURE_CLIENT_ID") : ClientId,
                TenantId = Environment.GetEnvironmentVariable("AZURE_TENANT_ID"),
                TokenFilePath = Environment.GetEnvironmentVariable("AZURE_FEDERATED_TOKEN_FILE"),
            };
            options.Retry.MaxRetries = 2;
            options.Retry.NetworkTimeout = networkTimeout;
            return new WorkloadIdentityCredential(options);
        }

        var managed = new ManagedIdentityCredentialOptions(string.IsNullOrWhiteSpace(ClientId)
            ? ManagedIdentityId.SystemAssigned
            : ManagedIdentityId.FromUserAssignedClientId(ClientId));
        managed.Retry.MaxRetries = 2;
        managed.Retry.NetworkTimeout = networkTimeout;
        return new ManagedIdentityCredential(managed);
    }

    /// <summary>A URL for a message: never its query (a SAS).</summary>
    public static string Redacted(string? url)
        => Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? new UriBuilder(parsed) { Query = string.Empty }.Uri.ToString() : url ?? string.Empty;

    /// <summary>How the settings are spelled where they were given: command-line flags or configuration keys.</summary>
    internal sealed record SettingNames(string ContainerUrl, string ConnectionStringFile, string Auth)
    {
        public static readonly SettingNames Flags = new("--blob-container-url", "--blob-connection-string-file", "--blob-auth");
    }
}
