using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;
using Periscope.Bundle;

namespace Periscope.Agent.Export;

/// <summary>How an upload ended.</summary>
/// <param name="Succeeded">True when the bundle and then its status record were written.</param>
/// <param name="Location">The bundle's blob URL, without any query (never a SAS).</param>
/// <param name="Error">Why it failed, in a sentence; the bundle stays in the local store.</param>
internal sealed record UploadResult(bool Succeeded, string? Location, string? Error)
{
    /// <summary>True when trying again cannot help without a change (a refused credential, no container, already there).</summary>
    public bool Permanent { get; init; }

    /// <summary>True when the status record was already in the store: the bundle was uploaded before.</summary>
    public bool AlreadyUploaded { get; init; }
}

/// <summary>
/// Uploads a sealed bundle to Azure Blob Storage in the store layout: <c>&lt;runId&gt;/&lt;node&gt;.zip</c> from its
/// file, a block at a time (never the whole bundle in memory), then <c>&lt;runId&gt;/&lt;node&gt;.status.json</c>, written
/// last; neither is ever overwritten — so a reader listing a run never sees half a bundle, or a bundle replaced. Credentials are read from their
/// files on every upload. A failure is a clear sentence and leaves the local bundle as it is.
/// </summary>
internal sealed class BlobBundleExporter(IOptions<BlobSinkOptions> options)
{
    private readonly Lock _lock = new();
    private TokenCredential? _credential;

    public bool Enabled => options.Value.Enabled;

    public Task<UploadResult> UploadAsync(SealedBundle bundle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return UploadAsync(bundle.Manifest.RunId, bundle.Manifest.Node.Name, bundle.BundlePath, bundle.StatusPath, cancellationToken);
    }

    /// <summary>Uploads the bundle <paramref name="zipPath"/> and then its status record <paramref name="statusPath"/>.</summary>
    public async Task<UploadResult> UploadAsync(string runId, string node, string zipPath, string statusPath, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var prefix = StoreLayout.BundlePath(runId, node)[..^StoreLayout.BundleSuffix.Length];
        string? location = null;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(o.Timeout);
            var container = await ContainerAsync(o, deadline.Token);
            var zip = container.GetBlobClient(prefix + ".zip");
            location = new UriBuilder(zip.Uri) { Query = string.Empty }.Uri.ToString();
            var status = container.GetBlobClient(prefix + ".status.json");

            // Neither blob is ever overwritten. A zip already there is this bundle from an earlier try that failed before
            // its status record (a node's store refuses a second bundle for a run), so the status record is written next.
            try
            {
                await zip.UploadAsync(zipPath, new BlobUploadOptions
                {
                    HttpHeaders = new BlobHttpHeaders { ContentType = "application/zip" },
                    Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    TransferOptions = new StorageTransferOptions
                    {
                        InitialTransferSize = o.BlockSizeBytes,
                        MaximumTransferSize = o.BlockSizeBytes,
                        MaximumConcurrency = o.MaxConcurrency,
                    },
                }, deadline.Token);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // already uploaded by an earlier try
            }

            await status.UploadAsync(statusPath, new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                Metadata = await ListingMetadataAsync(statusPath, zipPath, deadline.Token),
            }, deadline.Token);
            return new UploadResult(true, location, null);
        }
        catch (RequestFailedException ex)
        {
            return new UploadResult(false, location, Explain(ex)) { Permanent = ex.Status is 403 or 404 or 409, AlreadyUploaded = ex.Status == 409 };
        }
        catch (AuthenticationFailedException ex)
        {
            // No token: the identity is not assigned, the federation is not set up, or the token endpoint is down.
            return new UploadResult(false, location, $"the {o.Auth} credential could not get a token for Blob Storage ({FirstLine(ex.Message)}); the bundle stays in the local store.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidOperationException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var message = ex is OperationCanceledException ? $"no answer within {o.Timeout.TotalSeconds:0} s" : ex.Message;
            return new UploadResult(false, location, $"upload to Blob Storage failed: {message}");
        }
    }

    /// <summary>
    /// Uploads a run's started marker (<see cref="StoreLayout.StartedPath"/>) when the run begins, never over one already
    /// there; returns why it failed, or null. A progress hint: a failure costs the watcher a line, never the run.
    /// </summary>
    public async Task<string?> UploadStartedMarkerAsync(string runId, string node, byte[] marker, CancellationToken cancellationToken)
    {
        var o = options.Value;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(o.Timeout);
            var container = await ContainerAsync(o, deadline.Token);
            await container.GetBlobClient(StoreLayout.StartedPath(runId, node)).UploadAsync(new BinaryData(marker), new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            }, deadline.Token);
            return null;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return null; // written by an earlier try of this run
        }
        catch (RequestFailedException ex)
        {
            return Explain(ex);
        }
        catch (Exception ex) when (ex is AuthenticationFailedException or IOException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidOperationException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return ex is OperationCanceledException ? $"no answer within {o.Timeout.TotalSeconds:0} s" : FirstLine(ex.Message);
        }
    }

    /// <summary>The container client, built from credentials read now (a rotated secret is picked up on the next run).</summary>
    private async Task<BlobContainerClient> ContainerAsync(BlobSinkOptions o, CancellationToken cancellationToken)
    {
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.MaxRetries = 3;
        clientOptions.Retry.Mode = Azure.Core.RetryMode.Exponential;
        if (o.Auth is "workload-identity" or "managed-identity")
        {
            return new BlobContainerClient(new Uri(o.ContainerUrl!), Credential(o), clientOptions);
        }

        if (o.Auth == "sas")
        {
            var url = (await File.ReadAllTextAsync(o.SasUrlFile!, cancellationToken)).Trim();
            return new BlobContainerClient(new Uri(url), clientOptions);
        }

        var connection = o.ConnectionStringFile is { Length: > 0 } file ? (await File.ReadAllTextAsync(file, cancellationToken)).Trim() : o.ConnectionString!;
        return new BlobContainerClient(connection, o.Container, clientOptions);
    }

    /// <summary>
    /// One credential for the agent's life, so its token is cached and renewed before expiry. Each is the specific
    /// credential the option names, never a chain that tries others: a node must not upload as an identity nobody
    /// chose. Workload identity re-reads the projected token file whenever it needs a new token.
    /// </summary>
    private TokenCredential Credential(BlobSinkOptions o)
    {
        lock (_lock)
        {
            return _credential ??= o.Auth == "workload-identity"
                ? new WorkloadIdentityCredential(new WorkloadIdentityCredentialOptions
                {
                    ClientId = string.IsNullOrWhiteSpace(o.ClientId) ? Environment.GetEnvironmentVariable("AZURE_CLIENT_ID") : o.ClientId,
                    TenantId = string.IsNullOrWhiteSpace(o.TenantId) ? Environment.GetEnvironmentVariable("AZURE_TENANT_ID") : o.TenantId,
                    TokenFilePath = string.IsNullOrWhiteSpace(o.FederatedTokenFile) ? Environment.GetEnvironmentVariable("AZURE_FEDERATED_TOKEN_FILE") : o.FederatedTokenFile,
                })
                : new ManagedIdentityCredential(string.IsNullOrWhiteSpace(o.ClientId)
                    ? ManagedIdentityId.SystemAssigned
                    : ManagedIdentityId.FromUserAssignedClientId(o.ClientId));
        }
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    /// <summary>
    /// The status record as blob metadata, for readers that read a run from its listing: its start time (to order runs),
    /// its exact bytes (so a reader need not download each record) and, when it fits in Blob Storage's 8 KiB of metadata,
    /// the bundle's report digest (so a report need not read each zip); none when the record cannot be read here (the
    /// upload goes on: the record itself is what readers trust).
    /// </summary>
    private static async Task<Dictionary<string, string>?> ListingMetadataAsync(string statusPath, string zipPath, CancellationToken cancellationToken)
    {
        try
        {
            var bytes = await File.ReadAllBytesAsync(statusPath, cancellationToken);
            var record = System.Text.Json.JsonSerializer.Deserialize(bytes, BundleJsonContext.Default.StatusRecord);
            if (record is null)
            {
                return null;
            }

            var metadata = new Dictionary<string, string> { [StoreLayout.StartedAtMetadata] = UtcTimestampConverter.Format(record.StartedAt) };
            if (bytes.Length <= StoreLayout.MaxStatusRecordMetadataBytes)
            {
                metadata[StoreLayout.StatusRecordMetadata] = Convert.ToBase64String(bytes);
                var room = StoreLayout.MaxMetadataBytes - StoreLayout.ReportDigestMetadata.Length - metadata.Sum(m => m.Key.Length + m.Value.Length);
                if (ReportDigestOf(zipPath, record.Node, room) is { } digest)
                {
                    metadata[StoreLayout.ReportDigestMetadata] = digest;
                }
            }

            return metadata;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>The sealed zip's report digest within <paramref name="room"/> characters, or null (too large, or unreadable: the zip itself goes up all the same).</summary>
    private static string? ReportDigestOf(string zipPath, string node, int room)
    {
        try
        {
            using var reader = BundleReader.Open(File.OpenRead(zipPath), node);
            return ReportDigest.Encode(reader.Manifest, reader.ReadFacts(), reader.ReadFindings(), room);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or BundleRejectedException or InvalidDataException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static string Explain(RequestFailedException ex) => (ex.Status, ex.ErrorCode) switch
    {
        (403, "AuthenticationFailed") => "Blob Storage refused the credential (AuthenticationFailed: a wrong key, or a SAS that is expired or malformed); the bundle stays in the local store.",
        (403, "AuthorizationPermissionMismatch" or "AuthorizationResourceTypeMismatch") => $"Blob Storage refused the upload ({ex.ErrorCode}): the credential lacks create or write permission on the container; the bundle stays in the local store.",
        (403, _) => $"Blob Storage refused the credential or its permissions ({ex.ErrorCode}): check the key or SAS (account, expiry) and that it grants create and write on the container; the bundle stays in the local store.",
        (401, _) => $"Blob Storage refused the token ({ex.ErrorCode}): it is not a token for Azure Storage, or it has expired; the bundle stays in the local store.",
        (404, "ContainerNotFound") => "the Blob container does not exist; create it (the agent needs no right to list or create containers); the bundle stays in the local store.",
        (409, "BlobAlreadyExists") => "this node's status record for the run is already in Blob Storage: a node never uploads the same run twice; the bundle stays in the local store.",
        _ => $"upload to Blob Storage failed: HTTP {ex.Status} {ex.ErrorCode}; the bundle stays in the local store.",
    };
}
