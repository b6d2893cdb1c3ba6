using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
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
    /// <summary>Ranged reads of this size: a zip's end record and central directory, then each JSON entry.</summary>
    private const int ReadBufferSize = 64 * 1024;

    public string Description => new UriBuilder(container.Uri) { Query = string.Empty }.Uri.ToString(); // never the SAS

    /// <summary>Bytes downloaded so far (status records and ranged reads of zips), for the benchmark.</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    private long _bytesRead;

    public async Task<IReadOnlyList<RunSummary>> ListRunsAsync(CancellationToken cancellationToken)
    {
        var runs = new List<RunSummary>();
        await foreach (var item in container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", prefix: null, cancellationToken))
        {
            var runId = item.IsPrefix ? item.Prefix.TrimEnd('/') : null;
            if (!RunId.IsValid(runId))
            {
                continue;
            }

            DateTimeOffset? newest = null;
            var bundles = 0;
            foreach (var (_, hasZip, status) in await NodesAsync(runId!, cancellationToken))
            {
                bundles += hasZip ? 1 : 0;
                if (status is not null && await DownloadStatusAsync(status.Name, cancellationToken) is { } bytes
                    && NodeBundleReader.TryParseStatus(bytes, out var record, out _) && (newest is null || record!.StartedAt > newest))
                {
                    newest = record!.StartedAt;
                }
            }

            runs.Add(new RunSummary(runId!, newest, bundles));
        }

        return runs.OrderByDescending(r => r.StartedAt ?? DateTimeOffset.MinValue).ThenByDescending(r => r.RunId, StringComparer.Ordinal).ToList();
    }

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
            throw new IOException($"The Blob container '{Description}' cannot be listed ({ex.ErrorCode}): the collector needs read and list on it.", ex);
        }

        return zips.Union(statuses.Keys).Order(StringComparer.Ordinal)
            .Select(n => (n, zips.Contains(n), statuses.GetValueOrDefault(n)))
            .ToList();
    }
}
