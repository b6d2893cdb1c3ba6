using System.Security.Cryptography;
using System.Text.Json;
using Periscope.Bundle;

namespace Periscope.Collector.Sources;

/// <summary>
/// Reads a directory store: <c>&lt;store&gt;/&lt;runId&gt;/&lt;node&gt;.zip</c> and its <c>.status.json</c>. Only the
/// central directory, the manifest, facts and findings of each zip are read (and verified against the manifest's
/// hashes); the evidence is left alone unless <see cref="VerifyRunAsync"/> is asked for.
/// </summary>
internal sealed class DirectoryBundleSource(string store, BundleLimits? limits = null) : IBundleSource
{
    private readonly string _store = Path.GetFullPath(store);

    /// <summary>
    /// Each run's newest start time, with the status-record count and newest write time it was read at: a listing reads
    /// a run's status records again only when those change (a service lists the store every poll).
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int Sealed, DateTimeOffset? Updated, DateTimeOffset? Started)> _started = new(StringComparer.Ordinal);

    public string Description => _store;

    public Task<IReadOnlyList<RunSummary>> ListRunsAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_store))
        {
            throw new DirectoryNotFoundException($"The store '{_store}' does not exist.");
        }

        var runs = new List<RunSummary>();
        foreach (var directory in Directory.EnumerateDirectories(_store))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var runId = Path.GetFileName(directory);
            if (!RunId.IsValid(runId))
            {
                continue; // .staging and anything else that is not a run
            }

            DateTimeOffset? updated = null;
            var bundles = 0;
            var statuses = new List<string>();
            foreach (var file in Directory.EnumerateFiles(directory))
            {
                if (!StoreLayout.TryParseFileName(Path.GetFileName(file), out _, out var isStatus))
                {
                    continue;
                }

                if (!isStatus)
                {
                    bundles++;
                    continue;
                }

                statuses.Add(file);
                var written = new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero);
                updated = updated is null || written > updated ? written : updated;
            }

            var sealedCount = statuses.Count;
            DateTimeOffset? newest;
            if (_started.TryGetValue(runId, out var known) && known.Sealed == sealedCount && known.Updated == updated)
            {
                newest = known.Started; // no status record came or changed since: not read again
            }
            else
            {
                newest = null;
                foreach (var file in statuses)
                {
                    if (TryReadStatus(file, out var status, out _) && (newest is null || status!.StartedAt > newest))
                    {
                        newest = status!.StartedAt;
                    }
                }

                _started[runId] = (sealedCount, updated, newest);
            }

            runs.Add(new RunSummary(runId, newest, bundles, sealedCount, updated));
        }

        IReadOnlyList<RunSummary> ordered = runs
            .OrderByDescending(r => r.StartedAt ?? DateTimeOffset.MinValue)
            .ThenByDescending(r => r.RunId, StringComparer.Ordinal)
            .ToList();
        return Task.FromResult(ordered);
    }

    public Task<Stream?> OpenBundleAsync(string runId, string node, CancellationToken cancellationToken)
    {
        if (!RunId.IsValid(runId) || !NodeName.IsValid(node))
        {
            return Task.FromResult<Stream?>(null);
        }

        // Names are validated, and the resolved path must still lie inside the store (defence in depth).
        var zip = Path.GetFullPath(Path.Combine(_store, StoreLayout.BundlePath(runId, node)));
        var status = Path.GetFullPath(Path.Combine(_store, StoreLayout.StatusPath(runId, node)));
        if (!zip.StartsWith(_store + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(zip) || !File.Exists(status))
        {
            return Task.FromResult<Stream?>(null);
        }

        return Task.FromResult<Stream?>(File.OpenRead(zip));
    }

    public Task<IReadOnlyList<string>> ListNodesAsync(string runId, CancellationToken cancellationToken)
        => Task.FromResult<IReadOnlyList<string>>(NodesOf(RunDirectory(runId)).Order(StringComparer.Ordinal).ToList());

    public Task<IReadOnlyList<NodeBundle>> ReadRunAsync(string runId, CancellationToken cancellationToken)
    {
        var directory = RunDirectory(runId);
        var nodes = new List<NodeBundle>();
        foreach (var node in NodesOf(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            nodes.Add(ReadNode(runId, node));
        }

        return Task.FromResult<IReadOnlyList<NodeBundle>>(nodes);
    }

    public Task<IReadOnlyList<VerifyResult>> VerifyRunAsync(string runId, CancellationToken cancellationToken)
    {
        var directory = RunDirectory(runId);
        var results = new List<VerifyResult>();
        foreach (var node in NodesOf(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = StoreLayout.BundlePath(runId, node);
            var zip = Path.Combine(_store, path);
            var statusFile = Path.Combine(_store, StoreLayout.StatusPath(runId, node));
            var problems = new List<string>();
            if (!File.Exists(zip))
            {
                results.Add(new VerifyResult(path, "corrupt", ["status record without its bundle"]));
                continue;
            }

            if (!File.Exists(statusFile))
            {
                results.Add(new VerifyResult(path, "incomplete", ["no status record: the bundle is incomplete"]));
                continue;
            }

            if (!TryReadStatus(statusFile, out var status, out var statusProblem))
            {
                problems.Add(statusProblem!);
            }
            else
            {
                NodeBundleReader.CheckStatusMatches(status!, runId, node, problems);
                var (size, sha) = HashFile(zip);
                if (size != status!.BundleSize || !string.Equals(sha, status.Sha256, StringComparison.Ordinal))
                {
                    problems.Add($"the zip's sha256 or size does not match its status record (size {size}, recorded {status.BundleSize})");
                }
            }

            try
            {
                using var reader = BundleReader.Open(File.OpenRead(zip), node, limits);
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

        return Task.FromResult<IReadOnlyList<VerifyResult>>(results);
    }

    private NodeBundle ReadNode(string runId, string node)
    {
        var zip = Path.Combine(_store, StoreLayout.BundlePath(runId, node));
        var statusFile = Path.Combine(_store, StoreLayout.StatusPath(runId, node));
        byte[]? status = null;
        DateTimeOffset? received = null;
        if (File.Exists(statusFile))
        {
            var info = new FileInfo(statusFile);
            received = new DateTimeOffset(info.LastWriteTimeUtc);
            if (info.Length > NodeBundleReader.MaxStatusSize)
            {
                return new NodeBundle { Node = node, BundlePath = StoreLayout.BundlePath(runId, node), Rejected = $"status record is {info.Length} bytes, over the limit of {NodeBundleReader.MaxStatusSize}" };
            }

            try
            {
                status = File.ReadAllBytes(statusFile);
            }
            catch (IOException ex)
            {
                return new NodeBundle { Node = node, BundlePath = StoreLayout.BundlePath(runId, node), Rejected = $"status record could not be read: {ex.Message}" };
            }
        }

        return NodeBundleReader.Read(runId, node, File.Exists(zip), status, received, () => File.OpenRead(zip), limits);
    }

    private string RunDirectory(string runId)
    {
        RunId.Validate(runId);
        var directory = Path.Combine(_store, runId);
        return Directory.Exists(directory)
            ? directory
            : throw new DirectoryNotFoundException($"The store '{_store}' has no run '{runId}'.");
    }

    private static IEnumerable<string> NodesOf(string directory)
    {
        var nodes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            if (StoreLayout.TryParseFileName(Path.GetFileName(file), out var node, out _))
            {
                nodes.Add(node);
            }
        }

        return nodes;
    }



    private static bool TryReadStatus(string file, out StatusRecord? status, out string? problem)
    {
        status = null;
        try
        {
            var info = new FileInfo(file);
            if (info.Length > NodeBundleReader.MaxStatusSize)
            {
                problem = $"status record is {info.Length} bytes, over the limit of {NodeBundleReader.MaxStatusSize}";
                return false;
            }

            return NodeBundleReader.TryParseStatus(File.ReadAllBytes(file), out status, out problem);
        }
        catch (IOException ex)
        {
            problem = $"status record could not be read: {ex.Message}";
            return false;
        }
    }

    private static (long Size, string Sha256) HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        var hash = SHA256.HashData(stream);
        return (stream.Length, Convert.ToHexStringLower(hash));
    }
}
