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
    private const long MaxStatusSize = 1024 * 1024;
    private readonly string _store = Path.GetFullPath(store);

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

            DateTimeOffset? newest = null;
            var bundles = 0;
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

                if (TryReadStatus(file, out var status, out _) && (newest is null || status!.StartedAt > newest))
                {
                    newest = status!.StartedAt;
                }
            }

            runs.Add(new RunSummary(runId, newest, bundles));
        }

        IReadOnlyList<RunSummary> ordered = runs
            .OrderByDescending(r => r.StartedAt ?? DateTimeOffset.MinValue)
            .ThenByDescending(r => r.RunId, StringComparer.Ordinal)
            .ToList();
        return Task.FromResult(ordered);
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
                CheckStatusMatches(status!, runId, node, problems);
                var (size, sha) = HashFile(zip);
                if (size != status!.BundleSize || !string.Equals(sha, status.Sha256, StringComparison.Ordinal))
                {
                    problems.Add($"the zip's sha256 or size does not match its status record (size {size}, recorded {status.BundleSize})");
                }
            }

            try
            {
                using var reader = BundleReader.Open(File.OpenRead(zip), node, limits);
                CheckManifestMatches(reader.Manifest, runId, problems);
                problems.AddRange(reader.VerifyAll(cancellationToken));
                _ = reader.ReadFacts();
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
        var path = StoreLayout.BundlePath(runId, node);
        var zip = Path.Combine(_store, path);
        var statusFile = Path.Combine(_store, StoreLayout.StatusPath(runId, node));
        if (!File.Exists(zip))
        {
            return new NodeBundle { Node = node, BundlePath = path, Rejected = "status record without its bundle" };
        }

        if (!File.Exists(statusFile))
        {
            return new NodeBundle { Node = node, BundlePath = path, Incomplete = true, Rejected = "no status record: the bundle is incomplete (still being written, or its writer stopped)" };
        }

        if (!TryReadStatus(statusFile, out var status, out var statusProblem))
        {
            return new NodeBundle { Node = node, BundlePath = path, Rejected = statusProblem };
        }

        var problems = new List<string>();
        CheckStatusMatches(status!, runId, node, problems);
        if (problems.Count > 0)
        {
            return new NodeBundle { Node = node, BundlePath = path, Status = status, Rejected = problems[0] };
        }

        try
        {
            using var reader = BundleReader.Open(File.OpenRead(zip), node, limits);
            CheckManifestMatches(reader.Manifest, runId, problems);
            if (problems.Count > 0)
            {
                return new NodeBundle { Node = node, BundlePath = path, Status = status, Rejected = problems[0] };
            }

            return new NodeBundle
            {
                Node = node,
                BundlePath = path,
                Status = status,
                ReceivedAt = new DateTimeOffset(File.GetLastWriteTimeUtc(statusFile)),
                Manifest = reader.Manifest,
                Facts = reader.ReadFacts(),
                Findings = reader.ReadFindings(),
            };
        }
        catch (BundleRejectedException ex)
        {
            return new NodeBundle { Node = node, BundlePath = path, Status = status, Rejected = ex.Message };
        }
        catch (IOException ex)
        {
            return new NodeBundle { Node = node, BundlePath = path, Status = status, Rejected = $"could not be read: {ex.Message}" };
        }
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

    private static void CheckStatusMatches(StatusRecord status, string runId, string node, List<string> problems)
    {
        if (status.Node != node)
        {
            problems.Add($"status record names node '{status.Node}' but is stored as '{node}'");
        }

        if (status.RunId != runId)
        {
            problems.Add($"status record names run '{status.RunId}' but is stored in run '{runId}'");
        }
    }

    private static void CheckManifestMatches(Manifest manifest, string runId, List<string> problems)
    {
        if (manifest.RunId != runId)
        {
            problems.Add($"manifest names run '{manifest.RunId}' but the bundle is stored in run '{runId}'");
        }
    }

    private static bool TryReadStatus(string file, out StatusRecord? status, out string? problem)
    {
        status = null;
        try
        {
            var info = new FileInfo(file);
            if (info.Length > MaxStatusSize)
            {
                problem = $"status record is {info.Length} bytes, over the limit of {MaxStatusSize}";
                return false;
            }

            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            var version = document.RootElement.ValueKind == JsonValueKind.Object
                          && document.RootElement.TryGetProperty("schemaVersion", out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()
                : null;
            problem = BundleSchema.CheckReadable(version, "status record");
            if (problem is not null)
            {
                return false;
            }

            status = document.Deserialize(BundleJsonContext.Default.StatusRecord);
            problem = status is null ? "status record is empty" : null;
            return status is not null;
        }
        catch (JsonException ex)
        {
            problem = $"status record is not valid JSON: {ex.Message}";
            return false;
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
