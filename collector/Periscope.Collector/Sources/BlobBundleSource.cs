using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Periscope.Bundle;

namespace Periscope.Collector.Sources;

/// <summary>
/// Reads a store in an Azure Blob container, laid out as the agent uploads it (<c>&lt;runId&gt;/&lt;node&gt;.zip</c>, then
/// <c>&lt;runId&gt;/&lt;node&gt;.status.json</c>). A run is listed by its blobs; each status record is downloaded (it is
/// small); each zip is read through a seekable stream of ranged reads, so only its central directory and the JSON
/// entries move — never the evidence, never a run in memory. The credential needs read and list on the container.
/// </summary>
internal sealed class BlobBundleSource(BlobContainerClient container, BundleLimits? limits = null) : IBundleSource
{
    /// <summary>The store <paramref name="settings"/> name, read with bounded retries and a per-try deadline.</summary>
    public static BlobBundleSource Open(BlobStoreSettings settings, TimeSpan networkTimeout)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new BlobBundleSource(settings.Open(networkTimeout)) { _delegated = settings.UsesIdentity };
    }

    /// <summary>True when the container is read with an Entra ID token: download SAS URLs are user delegation SAS.</summary>
    private bool _delegated;

    /// <summary>Ranged reads of this size: a zip's end record and central directory, then each JSON entry.</summary>
    private const int ReadBufferSize = 64 * 1024;

    public string Description => new UriBuilder(container.Uri) { Query = string.Empty }.Uri.ToString(); // never the SAS

    /// <summary>Bytes downloaded so far (status records and ranged reads of zips), for the benchmark.</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    private long _bytesRead;

    /// <summary>
    /// One flat listing of the container with metadata: a status record's start time comes from its blob's
    /// <c>startedat</c> metadata (written by the agent), and only records without it (older agents, other writers) are
    /// downloaded.
    /// </summary>
    public async Task<IReadOnlyList<RunSummary>> ListRunsAsync(CancellationToken cancellationToken)
    {
        var runs = new Dictionary<string, (DateTimeOffset? Started, int Bundles, int Sealed, DateTimeOffset? Updated)>(StringComparer.Ordinal);
        try
        {
            await foreach (var blob in container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, prefix: null, cancellationToken))
            {
                var slash = blob.Name.IndexOf('/', StringComparison.Ordinal);
                var runId = slash > 0 ? blob.Name[..slash] : null;
                var name = slash > 0 ? blob.Name[(slash + 1)..] : string.Empty;
                if (!RunId.IsValid(runId) || name.Contains('/', StringComparison.Ordinal) || !StoreLayout.TryParseFileName(name, out _, out var isStatus))
                {
                    continue;
                }

                var run = runs.GetValueOrDefault(runId!);
                if (!isStatus)
                {
                    runs[runId!] = run with { Bundles = run.Bundles + 1 };
                    continue;
                }

                var started = await StartedAtAsync(blob, cancellationToken);
                var updated = blob.Properties.LastModified;
                runs[runId!] = run with
                {
                    Sealed = run.Sealed + 1,
                    Started = started is not null && (run.Started is null || started > run.Started) ? started : run.Started,
                    Updated = updated is not null && (run.Updated is null || updated > run.Updated) ? updated : run.Updated,
                };
            }
        }
        catch (RequestFailedException ex) when (ex.Status is 403 or 404)
        {
            throw ListingFailed(ex);
        }
        catch (Azure.Identity.AuthenticationFailedException ex)
        {
            throw NoToken(ex);
        }

        return runs.Select(r => new RunSummary(r.Key, r.Value.Started, r.Value.Bundles, r.Value.Sealed, r.Value.Updated))
            .OrderByDescending(r => r.StartedAt ?? DateTimeOffset.MinValue)
            .ThenByDescending(r => r.RunId, StringComparer.Ordinal)
            .ToList();
    }

    private IOException ListingFailed(RequestFailedException ex)
        => new(ex.ErrorCode == "ContainerNotFound"
            ? $"The Blob container '{Description}' does not exist."
            : $"The Blob container '{Description}' cannot be listed ({ex.ErrorCode}): the collector needs read and list on it.", ex);

    /// <summary>
    /// The identity got no token: not assigned to this VM, the federation not set up for this ServiceAccount, or Entra ID
    /// not reachable. The first line of the credential's message says which.
    /// </summary>
    private IOException NoToken(Azure.Identity.AuthenticationFailedException ex)
    {
        var message = ex.Message.Split('\n', 2)[0].Trim();
        if (ex.InnerException is { } inner && inner.Message.Split('\n', 2)[0].Trim() is { Length: > 0 } cause && !message.Contains(cause, StringComparison.Ordinal))
        {
            message = $"{message.TrimEnd('.', ':', ' ')}: {cause}"; // Entra ID's own reason (an AADSTS code) is in the inner exception
        }

        return new IOException($"The identity could not get a token to read the Blob container '{Description}': {message}", ex);
    }

    /// <summary>A status record's start time: from its blob's metadata, else from the record (downloaded once).</summary>
    private async Task<DateTimeOffset?> StartedAtAsync(BlobItem status, CancellationToken cancellationToken)
    {
        if (status.Metadata?.TryGetValue(StoreLayout.StartedAtMetadata, out var value) == true
            && DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var started))
        {
            return started;
        }

        // Read once per version of the record (a service lists the store every poll).
        var key = $"{status.Name}\n{status.Properties.ETag}";
        if (_downloadedStarts.TryGetValue(key, out var known))
        {
            return known;
        }

        var read = await DownloadStatusAsync(status.Name, cancellationToken) is { } bytes && NodeBundleReader.TryParseStatus(bytes, out var record, out _)
            ? record!.StartedAt
            : (DateTimeOffset?)null;
        _downloadedStarts[key] = read;
        return read;
    }

    /// <summary>Start times read from status records without metadata, by blob name and ETag.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset?> _downloadedStarts = new(StringComparer.Ordinal);

    public async Task<Stream?> OpenBundleAsync(string runId, string node, CancellationToken cancellationToken)
    {
        if (!RunId.IsValid(runId) || !NodeName.IsValid(node)
            || !await container.GetBlobClient(StoreLayout.StatusPath(runId, node)).ExistsAsync(cancellationToken))
        {
            return null;
        }

        var zip = container.GetBlobClient(StoreLayout.BundlePath(runId, node));
        return await zip.ExistsAsync(cancellationToken)
            ? await zip.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 4 * 1024 * 1024 }, cancellationToken)
            : null;
    }

    /// <summary>
    /// True when download SAS URLs can be signed: with the account key (a connection string holding it), or with a
    /// user delegation key the identity asks for (which needs generateUserDelegationKey on the storage account: the
    /// role Storage Blob Delegator there, or Storage Blob Data Reader at the account rather than the container).
    /// </summary>
    public bool CanSign => container.CanGenerateSasUri || _delegated;

    /// <summary>
    /// A read-only SAS URL for one sealed bundle, valid from a minute ago (clock skew) for <paramref name="lifetime"/>:
    /// read permission on that one blob only, HTTPS only unless the store itself is plain HTTP (a local emulator), and
    /// a Content-Disposition naming the file. Signed with the account key, or with a user delegation key when the store
    /// is read with an identity (the SAS then names that identity, and dies with the key at the latest). Null when the
    /// bundle is not sealed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The credential cannot sign (see <see cref="CanSign"/>), or the identity may not get a user delegation key.</exception>
    public async Task<Uri?> ReadOnlyUriAsync(string runId, string node, TimeSpan lifetime, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!RunId.IsValid(runId) || !NodeName.IsValid(node)
            || !await container.GetBlobClient(StoreLayout.StatusPath(runId, node)).ExistsAsync(cancellationToken))
        {
            return null;
        }

        var zip = container.GetBlobClient(StoreLayout.BundlePath(runId, node));
        if (!await zip.ExistsAsync(cancellationToken))
        {
            return null;
        }

        var sas = new Azure.Storage.Sas.BlobSasBuilder(Azure.Storage.Sas.BlobSasPermissions.Read, now + lifetime)
        {
            BlobContainerName = container.Name,
            BlobName = zip.Name,
            Resource = "b",
            StartsOn = now.AddMinutes(-1),
            Protocol = zip.Uri.Scheme == Uri.UriSchemeHttps ? Azure.Storage.Sas.SasProtocol.Https : Azure.Storage.Sas.SasProtocol.HttpsAndHttp,
            ContentDisposition = $"attachment; filename=\"{runId}-{node}.zip\"",
            ContentType = "application/zip",
        };
        if (zip.CanGenerateSasUri)
        {
            return zip.GenerateSasUri(sas);
        }

        if (!_delegated)
        {
            throw new InvalidOperationException("the Blob credential cannot sign a SAS: use a connection string with the account key, or an identity");
        }

        var key = await DelegationKeyAsync(now, lifetime, cancellationToken);
        sas.ExpiresOn = now + lifetime < key.SignedExpiresOn ? now + lifetime : key.SignedExpiresOn;
        return new BlobUriBuilder(zip.Uri) { Sas = sas.ToSasQueryParameters(key, zip.AccountName) }.ToUri();
    }

    /// <summary>
    /// A user delegation key valid for at least <paramref name="lifetime"/> more: one per hour or so, shared by every
    /// download (each is one request to Entra-authorized Blob Storage otherwise).
    /// </summary>
    private async Task<UserDelegationKey> DelegationKeyAsync(DateTimeOffset now, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var cached = _delegationKey;
        if (cached is not null && cached.SignedExpiresOn - now > lifetime + TimeSpan.FromMinutes(5) && cached.SignedStartsOn <= now.AddMinutes(-1))
        {
            return cached;
        }

        // Two downloads at once may both ask for a key: harmless, the later one is kept.
        try
        {
            var service = container.GetParentBlobServiceClient();
            var key = await service.GetUserDelegationKeyAsync(now.AddMinutes(-5), now + lifetime + DelegationKeyLifetime, cancellationToken);
            return _delegationKey = key.Value;
        }
        catch (RequestFailedException ex) when (ex.Status is 401 or 403)
        {
            throw new InvalidOperationException($"the identity may not get a user delegation key to sign the download ({ex.ErrorCode}): grant it Storage Blob Delegator on the storage account (a container-scoped role cannot ask for one)", ex);
        }
    }

    /// <summary>How much longer than the longest SAS a user delegation key is asked for (it is reused until then).</summary>
    private static readonly TimeSpan DelegationKeyLifetime = TimeSpan.FromHours(1);

    private volatile UserDelegationKey? _delegationKey;

    public async Task<IReadOnlyList<string>> ListNodesAsync(string runId, CancellationToken cancellationToken)
        => (await NodesAsync(RunId.Validate(runId), cancellationToken)).Select(n => n.Node).ToList();

    public async Task<IReadOnlyList<NodeBundle>> ReadRunAsync(string runId, CancellationToken cancellationToken)
    {
        var nodes = await NodesAsync(RunId.Validate(runId), cancellationToken);
        if (nodes.Count == 0)
        {
            throw new IOException($"The store '{Description}' has no run '{runId}'.");
        }

        var result = new List<NodeBundle>(nodes.Count);
        foreach (var (node, hasZip, status) in nodes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            result.Add(await ReadNodeAsync(runId, node, hasZip, status, cancellationToken));
        }

        return result;
    }

    public async Task<IReadOnlyList<VerifyResult>> VerifyRunAsync(string runId, CancellationToken cancellationToken)
    {
        var results = new List<VerifyResult>();
        foreach (var (node, hasZip, status) in await NodesAsync(RunId.Validate(runId), cancellationToken))
        {
            var path = StoreLayout.BundlePath(runId, node);
            if (!hasZip || status is null)
            {
                results.Add(new VerifyResult(path, hasZip ? "incomplete" : "corrupt", [hasZip ? "no status record: the bundle is incomplete" : "status record without its bundle"]));
                continue;
            }

            var problems = new List<string>();
            var bytes = await DownloadStatusAsync(status.Name, cancellationToken);
            StatusRecord? record = null;
            string? problem = "status record is over the size limit";
            if (bytes is null || !NodeBundleReader.TryParseStatus(bytes, out record, out problem))
            {
                results.Add(new VerifyResult(path, "corrupt", [problem!]));
                continue;
            }

            NodeBundleReader.CheckStatusMatches(record!, runId, node, problems);
            var blob = container.GetBlobClient(path);
            await using (var whole = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = 4 * 1024 * 1024 }, cancellationToken))
            {
                var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(whole, cancellationToken));
                if (!string.Equals(sha, record!.Sha256, StringComparison.Ordinal))
                {
                    problems.Add("the zip's sha256 does not match its status record");
                }
            }

            try
            {
                using var reader = BundleReader.Open(await OpenZipAsync(path, cancellationToken), node, limits);
                NodeBundleReader.CheckManifestMatches(reader.Manifest, runId, problems);
                problems.AddRange(reader.VerifyAll(cancellationToken));
                _ = reader.ReadFacts(); // verify judges the documents as report does: a bundle report rejects is never ok
                _ = reader.ReadFindings();
            }
            catch (BundleRejectedException ex)
            {
                problems.Add(ex.Message);
            }

            results.Add(new VerifyResult(path, problems.Count == 0 ? "ok" : "corrupt", problems));
        }

        return results;
    }

    private async Task<NodeBundle> ReadNodeAsync(string runId, string node, bool hasZip, BlobItem? status, CancellationToken cancellationToken)
    {
        byte[]? bytes = null;
        if (status is not null)
        {
            bytes = await DownloadStatusAsync(status.Name, cancellationToken);
            if (bytes is null)
            {
                return new NodeBundle { Node = node, BundlePath = StoreLayout.BundlePath(runId, node), Rejected = $"status record is over the limit of {NodeBundleReader.MaxStatusSize} bytes" };
            }
        }

        // Opened only once the status record has passed (the reader reads synchronously, through ranged reads).
        return NodeBundleReader.Read(runId, node, hasZip, bytes, status?.Properties.LastModified,
            () => OpenZip(StoreLayout.BundlePath(runId, node), cancellationToken), limits);
    }

    private async Task<Stream> OpenZipAsync(string path, CancellationToken cancellationToken)
    {
        var stream = await container.GetBlobClient(path).OpenReadAsync(ReadOptions, cancellationToken);
        return new CountingStream(stream, n => Interlocked.Add(ref _bytesRead, n));
    }

    private Stream OpenZip(string path, CancellationToken cancellationToken)
        => new CountingStream(container.GetBlobClient(path).OpenRead(ReadOptions, cancellationToken), n => Interlocked.Add(ref _bytesRead, n));

    private static BlobOpenReadOptions ReadOptions => new(allowModifications: false) { BufferSize = ReadBufferSize };

    /// <summary>The status record's bytes, or null when it is larger than a status record can be.</summary>
    private async Task<byte[]?> DownloadStatusAsync(string name, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(name);
        var content = await blob.DownloadContentAsync(cancellationToken);
        var bytes = content.Value.Content.ToArray();
        Interlocked.Add(ref _bytesRead, bytes.Length);
        return bytes.Length > NodeBundleReader.MaxStatusSize ? null : bytes;
    }

    /// <summary>The nodes of a run: whether each has its zip, and its status record blob.</summary>
    private async Task<List<(string Node, bool HasZip, BlobItem? Status)>> NodesAsync(string runId, CancellationToken cancellationToken)
    {
        var zips = new HashSet<string>(StringComparer.Ordinal);
        var statuses = new Dictionary<string, BlobItem>(StringComparer.Ordinal);
        try
        {
            await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, runId + "/", cancellationToken))
            {
                var name = blob.Name[(runId.Length + 1)..];
                if (name.Contains('/', StringComparison.Ordinal) || !StoreLayout.TryParseFileName(name, out var node, out var isStatus))
                {
                    continue;
                }

                if (isStatus)
                {
                    statuses[node] = blob;
                }
                else
                {
                    zips.Add(node);
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status is 403 or 404)
        {
            throw ListingFailed(ex);
        }
        catch (Azure.Identity.AuthenticationFailedException ex)
        {
            throw NoToken(ex);
        }

        return zips.Union(statuses.Keys).Order(StringComparer.Ordinal)
            .Select(n => (n, zips.Contains(n), statuses.GetValueOrDefault(n)))
            .ToList();
    }
}
