using System.Security.Cryptography;
using System.Text.Json;
using Periscope.Bundle;

namespace Periscope.Collector.Sources;

/// <summary>
/// Reads a directory store: <c>&lt;store&gt;/&lt;runId&gt;/&lt;node&gt;.zip</c> and its <c>.status.json</c>. Only the
/// central directory, the manifest, facts and findings of each zip are read (and verified against the manifest's
/// hashes); the evidence is left alone unless <see cref="VerifyRunAsync"/> is asked for.
/// </summary>
internal sealed class DirectoryBundleSource(string store, BundleLimits? limits = null, int? parallelReads = null, int cachedRuns = 4) : IBundleSource
{
    private readonly string _store = Path.GetFullPath(store);

    /// <summary>A bundle read before is not read again until its files change (inode, size, times).</summary>
    private readonly NodeBundleCache _cache = new(cachedRuns);

    /// <summary>The bound on bundles read at once: by default one per processor (reads are local and CPU-bound).</summary>
    public int ParallelReads { get; } = parallelReads is null ? Environment.ProcessorCount
        : parallelReads >= 1 ? parallelReads.Value : throw new ArgumentOutOfRangeException(nameof(parallelReads));

    /// <summary>How many bundles this source has read (not answered from its cache), for tests and the benchmark.</summary>
    public int BundlesRead => Volatile.Read(ref _bundlesRead);

    private int _bundlesRead;

    /// <summary>
    /// Each run's newest start time, with the status-record count and newest write time it was read at: a listing reads
    /// a run's status records again only when those change (a service lists the store every poll).
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int Sealed, DateTimeOffset? Updated, DateTimeOffset? Started, RunHealth Health)> _started = new(StringComparer.Ordinal);

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
            if (!RunId.IsValid(runId) || StoreFile.KindOf(directory) != StoreFile.Kind.Directory)
            {
                continue; // .staging, a symbolic link (never followed in a store) and anything else that is not a run
            }

            DateTimeOffset? updated = null;
            var bundles = 0;
            var statuses = new List<string>();
            foreach (var file in Directory.EnumerateFiles(directory))
            {
                if (!StoreLayout.TryParseFileName(Path.GetFileName(file), out var fileNode, out var isStatus))
                {
                    continue;
                }

                if (!isStatus)
                {
                    bundles++;
                    continue;
                }

                statuses.Add(fileNode);
                var written = new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero);
                updated = updated is null || written > updated ? written : updated;
            }

            var sealedCount = statuses.Count;
            DateTimeOffset? newest;
            RunHealth health;
            if (_started.TryGetValue(runId, out var known) && known.Sealed == sealedCount && known.Updated == updated)
            {
                (newest, health) = (known.Started, known.Health); // no status record came or changed since: not read again
            }
            else
            {
                newest = null;
                health = RunHealth.None;
                foreach (var statusNode in statuses)
                {
                    var read = TryReadStatus(runId, statusNode, out var status, out _);
                    health = health.Add(read ? status!.Status : null);
                    if (read && (newest is null || status!.StartedAt > newest))
                    {
                        newest = status!.StartedAt;
                    }
                }

                _started[runId] = (sealedCount, updated, newest, health);
            }

            runs.Add(new RunSummary(runId, newest, bundles, sealedCount, updated) { Health = health });
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

        // Names are validated, and both files are opened by descriptor under the store: no symbolic link is followed
        // and only regular files are served (a sealed bundle has its status record).
        try
        {
            StoreFile.OpenRead(_store, runId, node + StoreLayout.StatusSuffix).Dispose();
            return Task.FromResult<Stream?>(StoreFile.OpenRead(_store, runId, node + StoreLayout.BundleSuffix, 64 * 1024));
        }
        catch (IOException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task<IReadOnlyList<string>> ListNodesAsync(string runId, CancellationToken cancellationToken)
        => Task.FromResult<IReadOnlyList<string>>(NodesOf(RunDirectory(runId)).Order(StringComparer.Ordinal).ToList());

    /// <summary>
    /// Reads a run's bundles, up to <see cref="ParallelReads"/> at once, in node order; a bundle whose files are unchanged
    /// since it was last read is not read again.
    /// </summary>
    public Task<IReadOnlyList<NodeBundle>> ReadRunAsync(string runId, CancellationToken cancellationToken)
    {
        var directory = RunDirectory(runId);
        var nodes = NodesOf(directory).ToList();
        var cache = _cache.For(runId);
        var result = new NodeBundle[nodes.Count];
        Parallel.For(0, nodes.Count, new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken }, i =>
        {
            var node = nodes[i];
            var version = $"{StoreFile.VersionOf(Path.Combine(directory, node + StoreLayout.BundleSuffix))}|{StoreFile.VersionOf(Path.Combine(directory, node + StoreLayout.StatusSuffix))}";
            if (cache.TryGet(node, version, out var known))
            {
                result[i] = known;
                return;
            }

            var read = ReadNode(runId, node);
            Interlocked.Increment(ref _bundlesRead);
            cache.Set(node, version, read);
            result[i] = read;
        });
        cache.Keep(nodes);
        return Task.FromResult<IReadOnlyList<NodeBundle>>(result);
    }

    public Task<IReadOnlyList<NodeBundle>> ReadNodesAsync(string runId, IReadOnlyCollection<string> nodes, CancellationToken cancellationToken)
    {
        var directory = RunDirectory(runId);
        var present = NodesOf(directory).ToHashSet(StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<NodeBundle>>([.. nodes.Where(present.Contains).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal).Select(node => ReadNode(runId, node))]);
    }

    public Task<IReadOnlyDictionary<string, RunProgress>> ProgressAsync(string runId, CancellationToken cancellationToken)
    {
        var progress = new Dictionary<string, RunProgress>(StringComparer.Ordinal);
        var directory = Path.Combine(_store, RunId.Validate(runId));
        if (StoreFile.KindOf(directory) != StoreFile.Kind.Directory)
        {
            return Task.FromResult<IReadOnlyDictionary<string, RunProgress>>(progress);
        }

        RunProgress Of(string node) => progress.GetValueOrDefault(node) ?? new RunProgress(null, false, null);
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(path);
            if (StoreLayout.TryParseStartedFileName(name, out var started))
            {
                progress[started] = Of(started) with { StartedAt = StartedAt(path) };
            }
            else if (StoreLayout.TryParseFileName(name, out var node, out var isStatus))
            {
                progress[node] = isStatus
                    ? Of(node) with { Status = TryReadStatus(runId, node, out var status, out _) ? status : null }
                    : Of(node) with { HasBundle = true };
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, RunProgress>>(progress);
    }

    /// <summary>A started marker's time: the agent's, else the file's (a marker that does not parse still says it started).</summary>
    private static DateTimeOffset StartedAt(string path)
    {
        try
        {
            if (new FileInfo(path).Length <= 64 * 1024
                && System.Text.Json.JsonSerializer.Deserialize(File.ReadAllBytes(path), BundleJsonContext.Default.StartedMarker) is { } marker)
            {
                return marker.StartedAt;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            // The file's time below.
        }

        return new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero);
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
            if (!Exists(zip))
            {
                results.Add(new VerifyResult(path, "corrupt", ["status record without its bundle"]));
                continue;
            }

            if (!Exists(statusFile))
            {
                results.Add(new VerifyResult(path, "incomplete", ["no status record: the bundle is incomplete"]));
                continue;
            }

            if (!TryReadStatus(runId, node, out var status, out var statusProblem))
            {
                problems.Add(statusProblem!);
            }
            else
            {
                NodeBundleReader.CheckStatusMatches(status!, runId, node, problems);
                try
                {
                    var (size, sha) = HashFile(runId, node);
                    if (size != status!.BundleSize || !string.Equals(sha, status.Sha256, StringComparison.Ordinal))
                    {
                        problems.Add($"the zip's sha256 or size does not match its status record (size {size}, recorded {status.BundleSize})");
                    }
                }
                catch (IOException ex)
                {
                    results.Add(new VerifyResult(path, "corrupt", [$"could not be read: {ex.Message}"]));
                    continue;
                }
            }

            try
            {
                NodeBundleReader.VerifyEntries(StoreFile.OpenRead(_store, runId, node + StoreLayout.BundleSuffix, 64 * 1024), runId, node, limits, problems, cancellationToken);
            }
            catch (IOException ex)
            {
                problems.Add($"could not be read: {ex.Message}"); // the file could not be opened
            }

            results.Add(new VerifyResult(path, problems.Count == 0 ? "ok" : "corrupt", problems));
        }

        return Task.FromResult<IReadOnlyList<VerifyResult>>(results);
    }

    private NodeBundle ReadNode(string runId, string node)
    {
        var bundlePath = StoreLayout.BundlePath(runId, node);
        var statusFile = Path.Combine(_store, StoreLayout.StatusPath(runId, node));
        byte[]? status = null;
        DateTimeOffset? received = null;
        if (Exists(statusFile))
        {
            try
            {
                received = new DateTimeOffset(File.GetLastWriteTimeUtc(statusFile), TimeSpan.Zero);
                status = StoreFile.ReadAll(_store, runId, node + StoreLayout.StatusSuffix, NodeBundleReader.MaxStatusSize);
            }
            catch (IOException ex)
            {
                return new NodeBundle { Node = node, BundlePath = bundlePath, Rejected = $"status record could not be read: {ex.Message}" };
            }
        }

        var read = NodeBundleReader.Read(runId, node, Exists(Path.Combine(_store, bundlePath)), status, received,
            () => StoreFile.OpenRead(_store, runId, node + StoreLayout.BundleSuffix, 64 * 1024), limits);
        if (read.Rejected is not null || read.Status is null)
        {
            return read;
        }

        // On a directory the whole zip is checked against its status record's sha256 too, as verify does: a local
        // read at disk speed (a Blob store checks the size only, so that a report does not download every bundle).
        try
        {
            var (_, sha) = HashFile(runId, node);
            return string.Equals(sha, read.Status.Sha256, StringComparison.Ordinal)
                ? read
                : new NodeBundle { Node = node, BundlePath = bundlePath, Status = read.Status, Rejected = "the zip's sha256 does not match its status record: changed after it was sealed" };
        }
        catch (IOException ex)
        {
            return new NodeBundle { Node = node, BundlePath = bundlePath, Status = read.Status, Rejected = $"could not be read: {ex.Message}" };
        }
    }

    /// <summary>Whether the store holds an entry of this name (of any kind: what it is is judged when it is opened).</summary>
    private static bool Exists(string path) => StoreFile.KindOf(path) != StoreFile.Kind.Missing;

    private string RunDirectory(string runId)
    {
        RunId.Validate(runId);
        var directory = Path.Combine(_store, runId);
        return StoreFile.KindOf(directory) == StoreFile.Kind.Directory // a symbolic link is not followed
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



    private bool TryReadStatus(string runId, string node, out StatusRecord? status, out string? problem)
    {
        status = null;
        try
        {
            return NodeBundleReader.TryParseStatus(StoreFile.ReadAll(_store, runId, node + StoreLayout.StatusSuffix, NodeBundleReader.MaxStatusSize), out status, out problem);
        }
        catch (IOException ex)
        {
            problem = $"status record could not be read: {ex.Message}";
            return false;
        }
    }

    private (long Size, string Sha256) HashFile(string runId, string node)
    {
        using var stream = StoreFile.OpenRead(_store, runId, node + StoreLayout.BundleSuffix, 64 * 1024);
        var hash = SHA256.HashData(stream);
        return (stream.Length, Convert.ToHexStringLower(hash));
    }
}
