using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Periscope.Bundle;

namespace Periscope.Collector.Sources;

/// <summary>
/// Reads a store in an Azure Blob container, laid out as the agent uploads it (<c>&lt;runId&gt;/&lt;node&gt;.zip</c>, then
/// <c>&lt;runId&gt;/&lt;node&gt;.status.json</c>). A run is listed by its blobs with their metadata, which carries each
/// status record (records without it are downloaded); each zip's tail, central directory and JSON entries are fetched in
/// as few ranged reads as its layout allows (usually one), so only those move — never the evidence, never a run in
/// memory — up to <see cref="ParallelReads"/> bundles at once; a bundle read before is not read again until its blobs
/// change (<see cref="NodeBundleCache"/>). The credential needs read and list on the container.
/// </summary>
internal sealed class BlobBundleSource(
    BlobContainerClient container, BundleLimits? limits = null, int parallelReads = BlobBundleSource.DefaultParallelReads, int cachedRuns = 4,
    TimeProvider? timeProvider = null) : IBundleSource
{
    private readonly TimeProvider time = timeProvider ?? TimeProvider.System;

    /// <summary>The store <paramref name="settings"/> name, read with bounded retries and a per-try deadline.</summary>
    public static BlobBundleSource Open(
        BlobStoreSettings settings, TimeSpan networkTimeout, int parallelReads = DefaultParallelReads, int cachedRuns = 4, TimeSpan listingReuse = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new BlobBundleSource(settings.Open(networkTimeout), parallelReads: parallelReads, cachedRuns: cachedRuns)
        {
            _delegated = settings.UsesIdentity,
            ListingReuse = listingReuse,
        };
    }

    /// <summary>True when the container is read with an Entra ID token: download SAS URLs are user delegation SAS.</summary>
    private bool _delegated;

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
        var runs = new Dictionary<string, (DateTimeOffset? Started, int Bundles, int Sealed, DateTimeOffset? Updated, RunHealth? Health)>(StringComparer.Ordinal);
        var kept = new Dictionary<string, List<BlobItem>>(StringComparer.Ordinal);
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

                if (ListingReuse > TimeSpan.Zero && (kept.TryGetValue(runId!, out var items) || _cache.Holds(runId!)))
                {
                    (items ??= kept[runId!] = []).Add(blob); // a run read recently: read again from this listing
                }

                var run = runs.GetValueOrDefault(runId!);
                if (!isStatus)
                {
                    runs[runId!] = run with { Bundles = run.Bundles + 1 };
                    continue;
                }

                var (started, health) = await StatusOfAsync(blob, cancellationToken);
                var updated = blob.Properties.LastModified;
                runs[runId!] = run with
                {
                    Health = (run.Health ?? RunHealth.None).Add(health),
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

        _listing = ListingReuse > TimeSpan.Zero ? new Listing(time.GetUtcNow(), kept) : null; // its age counts from its end
        return runs.Select(r => new RunSummary(r.Key, r.Value.Started, r.Value.Bundles, r.Value.Sealed, r.Value.Updated) { Health = r.Value.Health })
            .OrderByDescending(r => r.StartedAt ?? DateTimeOffset.MinValue)
            .ThenByDescending(r => r.RunId, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The runs and their start times from one listing of the run folders and, per run, the first page of its blobs
    /// until a status record is among them (its <c>startedat</c> metadata; the agents of a run start together): a
    /// request or two per run instead of a listing of every blob in the store, for <c>report</c> and <c>verify</c>,
    /// which need only the latest run and the run before one. Bundle and status-record counts are not listed.
    /// </summary>
    public async Task<IReadOnlyList<RunSummary>> ListRunStartsAsync(CancellationToken cancellationToken)
    {
        var runIds = new List<string>();
        try
        {
            await foreach (var item in container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", prefix: null, cancellationToken))
            {
                if (item.IsPrefix && item.Prefix.TrimEnd('/') is var runId && RunId.IsValid(runId))
                {
                    runIds.Add(runId);
                }
            }

            var runs = new RunSummary[runIds.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, runIds.Count), Bounded(cancellationToken), async (i, token) =>
            {
                DateTimeOffset? started = null;
                await foreach (var page in container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, runIds[i] + "/", token).AsPages(pageSizeHint: 16))
                {
                    foreach (var blob in page.Values)
                    {
                        if (StoreLayout.TryParseFileName(blob.Name[(runIds[i].Length + 1)..], out _, out var isStatus) && isStatus
                            && await StartedAtAsync(blob, token) is { } at && (started is null || at > started))
                        {
                            started = at;
                        }
                    }

                    if (started is not null)
                    {
                        break;
                    }
                }

                runs[i] = new RunSummary(runIds[i], started, 0);
            });
            return runs.OrderByDescending(r => r.StartedAt ?? DateTimeOffset.MinValue).ThenByDescending(r => r.RunId, StringComparer.Ordinal).ToList();
        }
        catch (RequestFailedException ex) when (ex.Status is 403 or 404)
        {
            throw ListingFailed(ex);
        }
        catch (Azure.Identity.AuthenticationFailedException ex)
        {
            throw NoToken(ex);
        }
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
        => (await StatusOfAsync(status, cancellationToken)).Started;

    /// <summary>
    /// A status record's start time and node health: from the record copied in its metadata, else the start time from
    /// its <c>startedat</c> metadata (health unknown), else from the record downloaded once per version.
    /// </summary>
    private async Task<(DateTimeOffset? Started, HealthStatus? Health)> StatusOfAsync(BlobItem status, CancellationToken cancellationToken)
    {
        if (RecordFromMetadata(status) is { } copy)
        {
            return (copy.StartedAt, copy.Status);
        }

        if (status.Metadata?.TryGetValue(StoreLayout.StartedAtMetadata, out var value) == true
            && DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var started))
        {
            return (started, null);
        }

        // Read once per version of the record (a service lists the store every poll).
        var key = $"{status.Name}\n{status.Properties.ETag}";
        if (_downloadedStarts.TryGetValue(key, out var known))
        {
            return known;
        }

        var read = await DownloadStatusAsync(status.Name, cancellationToken) is { } bytes && NodeBundleReader.TryParseStatus(bytes, out var record, out _)
            ? (record!.StartedAt, record.Status)
            : ((DateTimeOffset?)null, (HealthStatus?)null);
        _downloadedStarts[key] = read;
        return read;
    }

    /// <summary>The status record copied in its blob's metadata, when there is a valid one.</summary>
    private static StatusRecord? RecordFromMetadata(BlobItem status)
    {
        if (status.Metadata?.TryGetValue(StoreLayout.StatusRecordMetadata, out var value) != true || value is null || value.Length > StoreLayout.MaxStatusRecordMetadataBytes * 2)
        {
            return null;
        }

        var decoded = new byte[value.Length];
        return Convert.TryFromBase64String(value, decoded, out var length) && NodeBundleReader.TryParseStatus(decoded[..length], out var record, out _)
            ? record
            : null;
    }

    /// <summary>Start times read from status records without metadata, by blob name and ETag.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTimeOffset? Started, HealthStatus? Health)> _downloadedStarts = new(StringComparer.Ordinal);

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
        => (await NodesAsync(RunId.Validate(runId), withMetadata: false, cancellationToken)).Select(n => n.Node).ToList();

    /// <summary>
    /// Reads a run from one listing with metadata (which carries each status record: see
    /// <see cref="StoreLayout.StatusRecordMetadata"/>) and, for each sealed bundle not read before in this version, one
    /// ranged read of its zip's tail (more only when the tail does not hold its directory and JSON entries), up to
    /// <see cref="ParallelReads"/> bundles at once. The result is in node order whatever order the reads finish in.
    /// </summary>
    public async Task<IReadOnlyList<NodeBundle>> ReadRunAsync(string runId, CancellationToken cancellationToken)
    {
        RunId.Validate(runId);
        var cache = new Lazy<NodeBundleCache.RunEntries>(() => _cache.For(runId)); // a run that is not there takes no place
        var read = new System.Collections.Concurrent.ConcurrentDictionary<string, NodeBundle>(StringComparer.Ordinal);
        // Bundles are read while the listing goes on: a page's bundles are in flight while the next page is listed.
        await Parallel.ForEachAsync(StreamNodesAsync(runId, cancellationToken), Bounded(cancellationToken), async (node, token) =>
        {
            var version = node.Version;
            if (!cache.Value.TryGet(node.Node, version, out var bundle))
            {
                bundle = await ReadNodeAsync(runId, node, token);
                Interlocked.Increment(ref _bundlesRead);
                cache.Value.Set(node.Node, version, bundle);
            }

            read[node.Node] = bundle;
        });
        if (read.IsEmpty)
        {
            throw new IOException($"The store '{Description}' has no run '{runId}'.");
        }

        cache.Value.Keep(read.Keys.ToList());
        return read.Values.OrderBy(n => n.Node, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// A run's progress from one listing with metadata: started markers (their time the blob's creation, by the store's
    /// clock: nothing is downloaded for them), zips, and status records (from their metadata, else downloaded).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, RunProgress>> ProgressAsync(string runId, CancellationToken cancellationToken)
    {
        RunId.Validate(runId);
        var progress = new Dictionary<string, RunProgress>(StringComparer.Ordinal);
        RunProgress Of(string node) => progress.GetValueOrDefault(node) ?? new RunProgress(null, false, null);
        var statuses = new List<(string Node, BlobItem Blob)>();
        await foreach (var blob in RunBlobsAsync(runId, withMetadata: true, cancellationToken))
        {
            var name = blob.Name[(runId.Length + 1)..];
            if (StoreLayout.TryParseStartedFileName(name, out var started))
            {
                progress[started] = Of(started) with { StartedAt = blob.Properties.CreatedOn ?? blob.Properties.LastModified };
            }
            else if (StoreLayout.TryParseFileName(name, out var node, out var isStatus))
            {
                if (isStatus)
                {
                    statuses.Add((node, blob));
                }
                else
                {
                    progress[node] = Of(node) with { HasBundle = true };
                }
            }
        }

        var records = new StatusRecord?[statuses.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, statuses.Count), Bounded(cancellationToken), async (i, token) =>
        {
            var (bytes, valid) = await StatusBytesAsync(statuses[i].Blob, token);
            records[i] = valid && bytes is not null && NodeBundleReader.TryParseStatus(bytes, out var record, out _) ? record : null;
        });
        for (var i = 0; i < statuses.Count; i++)
        {
            progress[statuses[i].Node] = Of(statuses[i].Node) with { Status = records[i] };
        }

        return progress;
    }

    /// <summary>Some nodes of a run: one listing of the run with metadata, then only those nodes' reads.</summary>
    public async Task<IReadOnlyList<NodeBundle>> ReadNodesAsync(string runId, IReadOnlyCollection<string> nodes, CancellationToken cancellationToken)
    {
        RunId.Validate(runId);
        var wanted = nodes.ToHashSet(StringComparer.Ordinal);
        var listed = (await NodesAsync(runId, withMetadata: true, cancellationToken)).Where(n => wanted.Contains(n.Node)).ToList();
        var read = new NodeBundle[listed.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, listed.Count), Bounded(cancellationToken),
            async (i, token) => read[i] = await ReadNodeAsync(runId, listed[i], token));
        return read;
    }

    /// <summary>
    /// The nodes of a run as its listing (with metadata) arrives: a node is given when its zip is listed, with its status
    /// record (which sorts before it: <c>node.status.json</c> &lt; <c>node.zip</c>), or as incomplete when it has none;
    /// status records without a zip come last. From the store's recent listing when <see cref="ListingReuse"/> allows.
    /// </summary>
    private async IAsyncEnumerable<BlobNode> StreamNodesAsync(
        string runId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken, bool withMetadata = true)
    {
        var statuses = new Dictionary<string, BlobItem>(StringComparer.Ordinal);
        await using var blobs = RunBlobsAsync(runId, withMetadata, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (await blobs.MoveNextAsync())
        {
            var blob = blobs.Current;
            var name = blob.Name[(runId.Length + 1)..];
            if (name.Contains('/', StringComparison.Ordinal) || !StoreLayout.TryParseFileName(name, out var node, out var isStatus))
            {
                continue;
            }

            if (isStatus)
            {
                statuses[node] = blob;
                continue;
            }

            statuses.Remove(node, out var status);
            yield return new BlobNode(node, blob, status);
        }

        foreach (var (node, status) in statuses)
        {
            yield return new BlobNode(node, null, status);
        }
    }

    /// <summary>A run's blobs (with metadata: from the store's recent listing when allowed), else listed; failures said plainly.</summary>
    private async IAsyncEnumerable<BlobItem> RunBlobsAsync(string runId, bool withMetadata, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (withMetadata && _listing is { } listing && time.GetUtcNow() - listing.At <= ListingReuse && listing.Runs.TryGetValue(runId, out var listed))
        {
            foreach (var blob in listed)
            {
                yield return blob;
            }

            yield break;
        }

        // Pages of RunPageSize: with each record and digest in the metadata a page of the service's 5,000 is tens of
        // MiB of XML, parsed whole.
        await using var pages = container.GetBlobsAsync(withMetadata ? BlobTraits.Metadata : BlobTraits.None, BlobStates.None, runId + "/", cancellationToken)
            .AsPages(pageSizeHint: RunPageSize).SelectMany(p => p.Values.ToAsyncEnumerable())
            .GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await pages.MoveNextAsync())
                {
                    yield break;
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

            yield return pages.Current;
        }
    }

    /// <summary>How many bundles this source has read (not answered from its cache), for tests and the benchmark.</summary>
    public int BundlesRead => Volatile.Read(ref _bundlesRead);

    private int _bundlesRead;

    /// <summary>Blobs asked for per page when a run is listed.</summary>
    internal const int RunPageSize = 1000;

    /// <summary>How many of the bundles read came from their report digest (no read of the zip), for tests and the benchmark.</summary>
    public int DigestsUsed => Volatile.Read(ref _digestsUsed);

    private int _digestsUsed;

    /// <summary>
    /// Whether a bundle is read from the report digest its status record's metadata carries (<see cref="StoreLayout.ReportDigestMetadata"/>)
    /// when there is one that agrees with the record: a run's report from its listing alone. Off: every zip is read.
    /// </summary>
    public bool UseReportDigests { get; init; } = true;

    /// <summary>The bound on bundles read at once.</summary>
    public int ParallelReads { get; } = parallelReads >= 1 ? parallelReads : throw new ArgumentOutOfRangeException(nameof(parallelReads));

    /// <summary>The default bound: enough requests in flight to hide Azure Storage's latency, well under its limits.</summary>
    public const int DefaultParallelReads = 64;

    /// <summary>The most bundles read at once that a command or the service accepts (from any store).</summary>
    public const int MaxParallelReads = 256;

    private readonly NodeBundleCache _cache = new(cachedRuns);

    private ParallelOptions Bounded(CancellationToken cancellationToken)
        => new() { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken };

    /// <summary>
    /// Checks every bundle of a run, up to <see cref="ParallelReads"/> at once: each zip is downloaded once, hashed as it
    /// arrives into a temporary file (deleted when closed), and every entry is then read from that file.
    /// </summary>
    public async Task<IReadOnlyList<VerifyResult>> VerifyRunAsync(string runId, CancellationToken cancellationToken)
    {
        var nodes = await NodesAsync(RunId.Validate(runId), withMetadata: true, cancellationToken);
        var results = new VerifyResult[nodes.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, nodes.Count), Bounded(cancellationToken),
            async (i, token) => results[i] = await VerifyNodeAsync(runId, nodes[i], token));
        return results;
    }

    private async Task<VerifyResult> VerifyNodeAsync(string runId, BlobNode node, CancellationToken cancellationToken)
    {
        var path = StoreLayout.BundlePath(runId, node.Node);
        if (node.Zip is null || node.Status is null)
        {
            return new VerifyResult(path, node.Zip is not null ? "incomplete" : "corrupt", [node.Zip is not null ? "no status record: the bundle is incomplete" : "status record without its bundle"]);
        }

        var problems = new List<string>();
        var (bytes, _) = await StatusBytesAsync(node.Status, cancellationToken);
        StatusRecord? record = null;
        string? problem = "status record is over the size limit";
        if (bytes is null || !NodeBundleReader.TryParseStatus(bytes, out record, out problem))
        {
            return new VerifyResult(path, "corrupt", [problem!]);
        }

        NodeBundleReader.CheckStatusMatches(record!, runId, node.Node, problems);
        FileStream? copy = null;
        try
        {
            copy = new FileStream(Path.Combine(Path.GetTempPath(), $"periscope-verify-{Guid.NewGuid():N}.zip"), FileMode.CreateNew,
                FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            var sha = await DownloadHashedAsync(container.GetBlobClient(path), node.Zip.Properties.ETag, copy, cancellationToken);
            if (!string.Equals(sha, record!.Sha256, StringComparison.Ordinal) || copy.Length != record.BundleSize)
            {
                problems.Add($"the zip's sha256 or size does not match its status record (size {copy.Length}, recorded {record.BundleSize})");
            }

            copy.Position = 0;
            var owned = copy;
            copy = null; // the reader owns it now
            NodeBundleReader.VerifyEntries(owned, runId, node.Node, limits, problems, cancellationToken);
        }
        catch (IOException ex)
        {
            problems.Add($"could not be read: {ex.Message}");
        }
        finally
        {
            if (copy is not null)
            {
                await copy.DisposeAsync();
            }
        }

        return new VerifyResult(path, problems.Count == 0 ? "ok" : "corrupt", problems);
    }

    /// <summary>Downloads one version of a blob into <paramref name="copy"/>, hashing it on the way; its lower-case hex sha256.</summary>
    private async Task<string> DownloadHashedAsync(BlobClient blob, ETag? etag, FileStream copy, CancellationToken cancellationToken)
    {
        try
        {
            var response = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = etag } }, cancellationToken);
            await using var content = response.Value.Content;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            int n;
            while ((n = await content.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                await copy.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                Interlocked.Add(ref _bytesRead, n);
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        catch (RequestFailedException ex)
        {
            throw new IOException(ex.Status == 412 ? "the zip was replaced while it was read (its ETag changed)" : $"the zip could not be downloaded ({ex.Status} {ex.ErrorCode})", ex);
        }
    }

    private async Task<NodeBundle> ReadNodeAsync(string runId, BlobNode node, CancellationToken cancellationToken)
    {
        var path = StoreLayout.BundlePath(runId, node.Node);
        byte[]? bytes = null;
        var valid = false;
        if (node.Status is not null)
        {
            try
            {
                (bytes, valid) = await StatusBytesAsync(node.Status, cancellationToken);
            }
            catch (RequestFailedException ex)
            {
                return new NodeBundle { Node = node.Node, BundlePath = path, Rejected = $"status record could not be read ({ex.Status} {ex.ErrorCode})", ReadFailed = true };
            }

            if (bytes is null)
            {
                return new NodeBundle { Node = node.Node, BundlePath = path, Rejected = $"status record is over the limit of {NodeBundleReader.MaxStatusSize} bytes" };
            }
        }

        // The report digest in the record's metadata, when it agrees with the record and the listed zip, is the zip's
        // documents without reading the zip.
        if (UseReportDigests && node.Zip is not null && valid
            && node.Status!.Metadata?.TryGetValue(StoreLayout.ReportDigestMetadata, out var digestValue) == true
            && ReportDigest.TryDecode(digestValue) is { } digest
            && NodeBundleReader.FromDigest(runId, node.Node, bytes!, node.Zip.Properties.ContentLength, node.Status.Properties.LastModified, digest) is { } fromDigest)
        {
            Interlocked.Increment(ref _digestsUsed);
            return fromDigest;
        }

        // The zip is read only for a status record that passes; its ranges are fetched ahead, so the reader (which reads
        // synchronously) finds them in memory.
        SparseBlobStream? zip = null;
        if (node.Zip is not null && valid)
        {
            zip = new SparseBlobStream(container.GetBlobClient(path), node.Zip.Properties.ContentLength ?? 0, node.Zip.Properties.ETag ?? default,
                n => Interlocked.Add(ref _bytesRead, n));
            try
            {
                await ZipReadPlan.FetchAsync(zip, (limits ?? BundleLimits.Default).MaxCentralDirectorySize, cancellationToken);
            }
            catch (IOException ex)
            {
                return new NodeBundle { Node = node.Node, BundlePath = path, Rejected = $"could not be read: {ex.Message}", ReadFailed = true };
            }
        }

        return NodeBundleReader.Read(runId, node.Node, node.Zip is not null, bytes, node.Status?.Properties.LastModified,
            () => zip ?? throw new IOException("the zip is not there"), limits);
    }

    /// <summary>
    /// A status record's bytes: from its blob's metadata when the listing carried a valid record there, else downloaded;
    /// null when larger than a status record can be. <c>Valid</c> says whether they parse as a record (a zip is read only
    /// for one that does).
    /// </summary>
    private async Task<(byte[]? Bytes, bool Valid)> StatusBytesAsync(BlobItem status, CancellationToken cancellationToken)
    {
        if (status.Metadata?.TryGetValue(StoreLayout.StatusRecordMetadata, out var value) == true
            && value.Length <= StoreLayout.MaxStatusRecordMetadataBytes * 2)
        {
            var decoded = new byte[value.Length];
            if (Convert.TryFromBase64String(value, decoded, out var length) && decoded[..length] is var bytes
                && NodeBundleReader.TryParseStatus(bytes, out _, out _))
            {
                return (bytes, true);
            }
        }

        var downloaded = await DownloadStatusAsync(status.Name, cancellationToken);
        return (downloaded, downloaded is not null && NodeBundleReader.TryParseStatus(downloaded, out _, out _));
    }

    /// <summary>The status record's bytes, or null when it is larger than a status record can be.</summary>
    private async Task<byte[]?> DownloadStatusAsync(string name, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(name);
        var content = await blob.DownloadContentAsync(cancellationToken);
        var bytes = content.Value.Content.ToArray();
        Interlocked.Add(ref _bytesRead, bytes.Length);
        return bytes.Length > NodeBundleReader.MaxStatusSize ? null : bytes;
    }

    /// <summary>A node of a run as listed: its zip's and status record's blobs (null when absent).</summary>
    private sealed record BlobNode(string Node, BlobItem? Zip, BlobItem? Status)
    {
        /// <summary>What the node's result depends on: both blobs' ETags (a status record's metadata changes its ETag too).</summary>
        public string Version => $"{Zip?.Properties.ETag}|{Zip?.Properties.ContentLength}|{Status?.Properties.ETag}";
    }

    /// <summary>
    /// How old a listing of the whole store (<see cref="ListRunsAsync"/>) may be for a run read recently to be read again
    /// from it rather than listed anew (zero: always listed). <c>serve</c> sets its poll interval plus its listing timeout: its listing finds a
    /// run changed, and the report is built from that same listing (kept until the next one, which starts a poll
    /// interval later and may take up to its listing timeout), so a refresh costs only the new bundles' reads.
    /// </summary>
    public TimeSpan ListingReuse { get; init; }

    /// <summary>When the store was last listed whole, and the blobs of the recently read runs in that listing.</summary>
    private sealed record Listing(DateTimeOffset At, Dictionary<string, List<BlobItem>> Runs);

    private volatile Listing? _listing;

    /// <summary>The nodes of a run, in node order: whether each has its zip, and its status record blob.</summary>
    private async Task<List<BlobNode>> NodesAsync(string runId, bool withMetadata, CancellationToken cancellationToken)
    {
        var nodes = new List<BlobNode>();
        await foreach (var node in StreamNodesAsync(runId, cancellationToken, withMetadata))
        {
            nodes.Add(node);
        }

        return [.. nodes.OrderBy(n => n.Node, StringComparer.Ordinal)];
    }
}
