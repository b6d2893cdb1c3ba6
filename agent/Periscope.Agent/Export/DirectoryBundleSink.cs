using System.Text.Json;
using Microsoft.Extensions.Logging;
using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Agent.Redaction;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Export;

/// <summary>
/// The embedded default sink: seals a run's bundle into a local store directory with the store layout of DESIGN.md.
/// The zip is written under a temporary name, flushed to disk and renamed; only then is the status record written
/// (also by rename), so a reader never sees half a bundle and a zip without its status record is incomplete.
/// Files are owner-only (0600).
/// </summary>
internal sealed partial class DirectoryBundleSink(TimeProvider timeProvider, ILogger<DirectoryBundleSink> logger)
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly ILogger _logger = logger;

    /// <summary>Checks the store can take this node's bundle for this run, before any work is done.</summary>
    /// <returns>The run's directory in the store, for <see cref="SealAsync"/>.</returns>
    /// <exception cref="IOException">The store is not writable or the bundle exists already.</exception>
    public static string PrepareRunDirectory(string store, RunId runId, string node)
    {
        var runDirectory = Path.Combine(Path.GetFullPath(store), runId.Value);
        CreateDirectory(Path.GetFullPath(store));
        CreateDirectory(runDirectory);
        var bundle = Path.Combine(Path.GetFullPath(store), StoreLayout.BundlePath(runId.Value, node));
        if (File.Exists(bundle))
        {
            throw new IOException($"The store already holds a bundle for node '{node}' in run '{runId}' ({bundle}); choose another --run-id.");
        }

        // Probe that we can create files here (a read-only or full store fails now, not after the run).
        var probe = Path.Combine(runDirectory, $".probe-{Guid.NewGuid():N}");
        using (new FileStream(probe, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly }))
        {
        }

        File.Delete(probe);
        return runDirectory;
    }

    /// <summary>
    /// Writes the run's started marker (<see cref="StoreLayout.StartedPath"/>) into the run directory, before any
    /// collection: written whole under a temporary name and moved into place, never over an existing one. Best effort —
    /// a marker that cannot be written costs the watcher a progress hint, never the run.
    /// </summary>
    /// <returns>The marker's bytes (for an upload), or null when it could not be written.</returns>
    public static byte[]? WriteStartedMarker(string store, RunId runId, string node, DateTimeOffset startedAt)
    {
        var bytes = global::System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new StartedMarker { Node = node, RunId = runId.Value, StartedAt = startedAt, Agent = AgentVersion.UserAgent }, BundleJsonContext.Default.StartedMarker);
        var path = Path.Combine(Path.GetFullPath(store), StoreLayout.StartedPath(runId.Value, node));
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, TemporaryName(node, 'm'));
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: false);
            return bytes;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            return File.Exists(path) ? bytes : null;
        }
    }

    /// <summary>Removes this node's started marker of a run that sealed no bundle (best effort).</summary>
    public static void RemoveStartedMarker(string store, RunId runId, string node)
    {
        try
        {
            File.Delete(Path.Combine(Path.GetFullPath(store), StoreLayout.StartedPath(runId.Value, node)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind: the collector ignores it, and the run folder keeps it until removed by hand.
        }
    }

    /// <summary>
    /// A writer's temporary name beside the final one: <c>.&lt;node&gt;.z&lt;6 hex&gt;.tmp</c> for the zip and
    /// <c>.s…</c> for the status record — 13 bytes more than the node name, so a node name of 242 characters still fits
    /// a 255-byte file name.
    /// </summary>
    private static string TemporaryName(string node, char kind)
        => $".{node}.{kind}{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}.tmp";

    /// <summary>
    /// What a killed writer of this node left in the store: its temporary files in every run folder (this form and the
    /// earlier <c>.&lt;node&gt;.zip.&lt;random&gt;.tmp</c> and <c>.status.</c> forms) and write probes, and run
    /// folders left empty for an hour. Other nodes' files are never touched (a store may be shared).
    /// </summary>
    /// <returns>The paths removed.</returns>
    public static IReadOnlyList<string> RemoveLeftovers(string store, string node, DateTimeOffset now)
    {
        var removed = new List<string>();
        var root = Path.GetFullPath(store);
        if (!Directory.Exists(root))
        {
            return removed;
        }

        foreach (var directory in new DirectoryInfo(root).EnumerateDirectories())
        {
            if (!RunId.IsValid(directory.Name) || directory.LinkTarget is not null)
            {
                continue;
            }

            try
            {
                foreach (var file in directory.EnumerateFiles($".{node}.*.tmp"))
                {
                    if (file.LinkTarget is null && IsTemporaryOf(file.Name, node))
                    {
                        file.Delete();
                        removed.Add(file.FullName);
                    }
                }

                if (!directory.EnumerateFileSystemInfos().Any() && now - directory.LastWriteTimeUtc > TimeSpan.FromHours(1))
                {
                    directory.Delete();
                    removed.Add(directory.FullName);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // another writer's moment, or a read-only store: left for the next start
            }
        }

        return removed;
    }

    private static bool IsTemporaryOf(string name, string node)
    {
        var middle = name[(node.Length + 2)..^4]; // between ".<node>." and ".tmp"
        return (middle.Length == 7 && middle[0] is 'z' or 's' or 'm' && middle[1..].All(char.IsAsciiHexDigitLower))
            || middle.StartsWith("zip.", StringComparison.Ordinal)
            || middle.StartsWith("status.", StringComparison.Ordinal);
    }

    /// <summary>A private staging directory for a run's evidence, inside the store so it lives on the same disk.</summary>
    public static string CreateStagingDirectory(string store, RunId runId)
    {
        var staging = Path.Combine(Path.GetFullPath(store), ".staging", $"{runId}.{Guid.NewGuid():N}");
        CreateDirectory(Path.Combine(Path.GetFullPath(store), ".staging"));
        CreateDirectory(staging);
        return staging;
    }

    /// <summary>
    /// Seals the bundle into the run directory <see cref="PrepareRunDirectory"/> checked at the run's start (made
    /// again if it went away meanwhile); a bundle that appeared there since is never replaced.
    /// </summary>
    public async Task<SealedBundle> SealAsync(string store, string runDirectory, BundleContent content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        CreateDirectory(runDirectory);
        var finalZip = Path.Combine(Path.GetFullPath(store), StoreLayout.BundlePath(content.RunId.Value, content.Node.Name));
        var finalStatus = Path.Combine(Path.GetFullPath(store), StoreLayout.StatusPath(content.RunId.Value, content.Node.Name));
        var tempZip = Path.Combine(runDirectory, TemporaryName(content.Node.Name, 'z'));

        Manifest manifest;
        long bundleSize;
        string sha256;
        long contentSize;
        try
        {
            var file = new FileStream(tempZip, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerOnly,
                BufferSize = 64 * 1024,
            });
            await using (var writer = new BundleWriter(file, timeProvider.GetUtcNow()))
            {
                var collectors = new List<CollectorRecord>();
                foreach (var result in content.Results)
                {
                    collectors.Add(await WriteCollectorAsync(writer, result, content.Redactor, cancellationToken));
                }

                var factsRedactions = new Dictionary<string, long>(StringComparer.Ordinal);
                var facts = DocumentRedaction.Redact(BuildFacts(content.Results), BundleJsonContext.Default.FactsDocument, content.Redactor, factsRedactions);
                var findings = new FindingsDocument { Findings = content.Findings, Signals = content.Signals };
                manifest = await writer.SealAsync(facts, findings, documents => new Manifest
                {
                    RunId = content.RunId.Value,
                    Node = content.Node,
                    Agent = AgentVersion.UserAgent,
                    StartedAt = content.StartedAt,
                    EndedAt = timeProvider.GetUtcNow(),
                    Since = content.Since,
                    Until = content.Until,
                    Offline = content.Offline,
                    Collectors = collectors,
                    Documents = [.. documents.Select(d => d.Path switch
                    {
                        BundleSchema.FactsEntry when factsRedactions.Count > 0 => d with { Redactions = factsRedactions },
                        BundleSchema.FindingsEntry when content.FindingsRedactions.Count > 0 => d with { Redactions = content.FindingsRedactions },
                        _ => d,
                    })],
                }, cancellationToken);
                file.Flush(flushToDisk: true);
                bundleSize = writer.BundleSize;
                sha256 = writer.BundleSha256;
                contentSize = writer.ContentSize;
            }

            File.Move(tempZip, finalZip, overwrite: false);
        }
        catch
        {
            TryDelete(tempZip);
            throw;
        }

        var status = new StatusRecord
        {
            Node = content.Node.Name,
            RunId = content.RunId.Value,
            Status = FindingCounts.Of(content.Findings).Health,
            Collection = content.Results.Any(r => r.Status is CollectorStatus.Failed or CollectorStatus.TimedOut or CollectorStatus.Partial)
                ? CollectorStatus.Partial
                : CollectorStatus.Ok,
            Findings = FindingCounts.Of(content.Findings),
            BundleSize = bundleSize,
            ContentSize = contentSize,
            Sha256 = sha256,
            StartedAt = manifest.StartedAt,
            EndedAt = manifest.EndedAt,
        };
        var tempStatus = Path.Combine(runDirectory, TemporaryName(content.Node.Name, 's'));
        try
        {
            await using (var stream = new FileStream(tempStatus, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerOnly,
            }))
            {
                await JsonSerializer.SerializeAsync(stream, status, BundleJsonContext.Default.StatusRecord, cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(tempStatus, finalStatus, overwrite: true);
        }
        catch
        {
            TryDelete(tempStatus);
            throw;
        }

        LogSealed(finalZip, bundleSize);
        return new SealedBundle(finalZip, finalStatus, manifest, status);
    }

    private static async Task<CollectorRecord> WriteCollectorAsync(BundleWriter writer, CollectorResult result, Redactor redactor, CancellationToken cancellationToken)
    {
        var files = new List<BundleFileRecord>();
        foreach (var staged in result.Files)
        {
            BundleFileRecord record;
            try
            {
                await using var source = new FileStream(staged.StagedPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                record = await writer.AddEntryAsync(staged.BundlePath, source, cancellationToken);
            }
            catch (FileNotFoundException)
            {
                continue; // created and removed by an abandoned collector
            }

            if (staged.Redactions.Count > 0)
            {
                record = record with { Redactions = new Dictionary<string, long>(staged.Redactions, StringComparer.Ordinal) };
            }

            if (staged.Note is not null)
            {
                record = record with
                {
                    Note = staged.Note,
                    OriginalSize = (staged.StagedSize ?? record.Size) + (staged.AttemptedSize ?? 0),
                    KeptSize = record.Size,
                    Offset = staged.KeptFrom ?? 0,
                };
            }

            files.Add(record);
        }

        return new CollectorRecord
        {
            Name = result.Name,
            Status = result.Status,
            DurationMs = Math.Round(result.Duration.TotalMilliseconds, 3),
            Error = result.Error is null ? null : redactor.RedactLine(result.Error, new Dictionary<string, long>(StringComparer.Ordinal)),
            Files = files,
            Counters = result.Counters.Count == 0 ? null : result.Counters,
            Commands = result.Commands.Count == 0 ? null : result.Commands,
        };
    }

    private static FactsDocument BuildFacts(IReadOnlyList<CollectorResult> results)
    {
        var facts = new FactsDocument();
        foreach (var result in results)
        {
            facts = result.Facts switch
            {
                SystemFacts system => facts with { System = system },
                KernelFacts kernel => facts with { Kernel = kernel },
                ContainerdFacts containerd => facts with { Containerd = containerd },
                KubeletFacts kubelet => facts with { Kubelet = kubelet },
                DnsFacts dns => facts with { Dns = dns },
                CniFacts cni => facts with { Cni = cni },
                AzureFacts azure => facts with { Azure = azure },
                ConnectivityFacts connectivity => facts with { Connectivity = connectivity },
                null => facts,
                _ => throw new InvalidOperationException($"Collector {result.Name} set facts of unregistered type {result.Facts.GetType().Name}; add it to FactsDocument."),
            };
        }

        return facts;
    }

    private static void CreateDirectory(string path)
    {
        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path, OwnerOnlyDirectory);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Sealed bundle {Path} ({Bytes} bytes).")]
    private partial void LogSealed(string path, long bytes);
}
