using Microsoft.Extensions.Options;

namespace Periscope.Agent.Export;

/// <summary>Where sealed bundles are uploaded. Bound from <c>Periscope:Sinks:Blob</c>; off while <see cref="Auth"/> is empty.</summary>
public sealed class BlobSinkOptions
{
    public const string SectionName = "Periscope:Sinks:Blob";

    /// <summary>
    /// How the agent authenticates, chosen explicitly (never a guessing chain): <c>connection-string</c>, <c>sas</c>,
    /// <c>workload-identity</c> or <c>managed-identity</c>; empty: no upload.
    /// </summary>
    public string? Auth { get; set; }

    /// <summary>The container (with <c>connection-string</c>).</summary>
    public string Container { get; set; } = "periscope";

    /// <summary>A file holding the connection string (a mounted Secret); re-read on every upload, so a rotation needs no restart.</summary>
    public string? ConnectionStringFile { get; set; }

    /// <summary>The connection string itself, where no file is mounted.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// A file holding a container-scoped SAS URL (<c>https://account.blob.core.windows.net/container?sv=…&amp;sig=…</c>);
    /// re-read on every upload. It needs only create and write permissions (<c>sp=cw</c>): no read, no list.
    /// </summary>
    public string? SasUrlFile { get; set; }

    /// <summary>
    /// With <c>workload-identity</c> or <c>managed-identity</c>: the container's URL,
    /// <c>https://account.blob.core.windows.net/container</c>. The identity needs the Storage Blob Data Contributor role
    /// on that container (or a custom role with blob write and create only).
    /// </summary>
    public string? ContainerUrl { get; set; }

    /// <summary>
    /// The identity's client id: with <c>managed-identity</c>, a user-assigned identity (unset: the system-assigned one);
    /// with <c>workload-identity</c>, unset means <c>AZURE_CLIENT_ID</c>, which the AKS workload identity webhook injects.
    /// </summary>
    public string? ClientId { get; set; }

    /// <summary>With <c>workload-identity</c>: the tenant; unset means <c>AZURE_TENANT_ID</c>.</summary>
    public string? TenantId { get; set; }

    /// <summary>With <c>workload-identity</c>: the projected service account token; unset means <c>AZURE_FEDERATED_TOKEN_FILE</c>.</summary>
    public string? FederatedTokenFile { get; set; }

    /// <summary>Size of each block of a bundle's upload; bundles are uploaded from their file, a block at a time.</summary>
    public int BlockSizeBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Blocks in flight at once.</summary>
    public int MaxConcurrency { get; set; } = 2;

    /// <summary>Deadline of one upload (the bundle and its status record).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    public bool Enabled => !string.IsNullOrWhiteSpace(Auth);
}

/// <summary>Every problem with the Blob sink's settings at once, at start.</summary>
internal sealed class BlobSinkOptionsValidator : IValidateOptions<BlobSinkOptions>
{
    public ValidateOptionsResult Validate(string? name, BlobSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        switch (options.Auth)
        {
            case "connection-string" when string.IsNullOrWhiteSpace(options.ConnectionStringFile) && string.IsNullOrWhiteSpace(options.ConnectionString):
                failures.Add($"{BlobSinkOptions.SectionName}:Auth is connection-string but neither ConnectionStringFile nor ConnectionString is set.");
                break;
            case "connection-string" when string.IsNullOrWhiteSpace(options.Container):
                failures.Add($"{BlobSinkOptions.SectionName}:Container must name the container.");
                break;
            case "sas" when string.IsNullOrWhiteSpace(options.SasUrlFile):
                failures.Add($"{BlobSinkOptions.SectionName}:Auth is sas but SasUrlFile is not set.");
                break;
            case "connection-string" or "sas":
                break;
            case "workload-identity" or "managed-identity":
                if (!Uri.TryCreate(options.ContainerUrl, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps || url.AbsolutePath.Trim('/').Length == 0 || url.Query.Length > 0)
                {
                    failures.Add($"{BlobSinkOptions.SectionName}:Auth is {options.Auth}: ContainerUrl must be the container's https URL without a query (found '{options.ContainerUrl}').");
                }

                if (options.Auth == "workload-identity")
                {
                    AddMissing(failures, options.ClientId, "ClientId", "AZURE_CLIENT_ID");
                    AddMissing(failures, options.TenantId, "TenantId", "AZURE_TENANT_ID");
                    AddMissing(failures, options.FederatedTokenFile, "FederatedTokenFile", "AZURE_FEDERATED_TOKEN_FILE");
                }

                break;
            default:
                failures.Add($"{BlobSinkOptions.SectionName}:Auth must be connection-string, sas, workload-identity or managed-identity (found '{options.Auth}').");
                break;
        }

        if (options.BlockSizeBytes is < 64 * 1024 or > 100 * 1024 * 1024)
        {
            failures.Add($"{BlobSinkOptions.SectionName}:BlockSizeBytes must be between 64 KiB and 100 MiB (found {options.BlockSizeBytes}).");
        }

        if (options.MaxConcurrency is < 1 or > 16)
        {
            failures.Add($"{BlobSinkOptions.SectionName}:MaxConcurrency must be between 1 and 16 (found {options.MaxConcurrency}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Workload identity's settings come from the option or from the variable the AKS webhook injects.</summary>
    private static void AddMissing(List<string> failures, string? value, string option, string variable)
    {
        if (string.IsNullOrWhiteSpace(value) && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(variable)))
        {
            failures.Add($"{BlobSinkOptions.SectionName}:Auth is workload-identity but neither {option} nor {variable} is set (is the pod labelled azure.workload.identity/use=true?).");
        }
    }
}
