using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Testing;

/// <summary>Writes bundles into a directory store the way the agent does, for tests of readers.</summary>
public static class TestBundles
{
    public static readonly DateTimeOffset Start = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    public static Finding Finding(string code, Severity severity = Severity.Warning, string? subject = null, long count = 1)
        => new()
        {
            Code = code,
            Severity = severity,
            Title = $"{code} title",
            Collector = "kernel",
            Subject = subject is null ? new FindingSubject(SubjectKind.Node, "n") : new FindingSubject(SubjectKind.Device, subject),
            Count = count,
            Evidence = [new EvidenceReference("kernel/kmsg.log", 3)],
        };

    /// <summary>Writes <c>store/run/node.zip</c> and (unless <paramref name="withStatus"/> is false) its status record.</summary>
    public static async Task<string> WriteAsync(
        string store, string runId, string node, IReadOnlyList<Finding>? findings = null, bool withStatus = true,
        DateTimeOffset? startedAt = null, string? pool = null, string? manifestNode = null, Func<NodeIdentity, NodeIdentity>? identity = null,
        byte[]? evidence = null, NodeSignals? signals = null)
    {
        findings ??= [];
        var started = startedAt ?? Start;
        var directory = Path.Combine(store, runId);
        Directory.CreateDirectory(directory);
        var zipPath = Path.Combine(directory, node + StoreLayout.BundleSuffix);
        long size;
        string sha;
        long content;
        await using (var file = File.Create(zipPath))
        {
            await using var writer = new BundleWriter(file, started);
            var record = await writer.AddEntryAsync("kernel/kmsg.log", new MemoryStream(evidence ?? Encoding.UTF8.GetBytes("line one\nline two\nline three\n")), CancellationToken.None);
            await writer.SealAsync(
                new FactsDocument { Kernel = new KernelFacts { Source = "kmsg-file", Records = 3 } },
                new FindingsDocument { Findings = findings, Signals = signals },
                documents => new Manifest
                {
                    RunId = runId,
                    Node = (identity ?? (i => i))(new NodeIdentity { Name = manifestNode ?? node, Pool = pool, OsImage = "Test OS", KernelVersion = "6.1.0" }),
                    Agent = "periscope-agent/test",
                    StartedAt = started,
                    EndedAt = started.AddSeconds(2),
                    Collectors = [new CollectorRecord { Name = "kernel", Status = CollectorStatus.Ok, Files = [record] }],
                    Documents = documents,
                },
                CancellationToken.None);
            size = writer.BundleSize;
            sha = writer.BundleSha256;
            content = writer.ContentSize;
        }

        if (withStatus)
        {
            var counts = FindingCounts.Of(findings);
            var status = new StatusRecord
            {
                Node = node,
                RunId = runId,
                Status = counts.Health,
                Collection = CollectorStatus.Ok,
                Findings = counts,
                BundleSize = size,
                ContentSize = content,
                Sha256 = sha,
                StartedAt = started,
                EndedAt = started.AddSeconds(2),
            };
            await File.WriteAllTextAsync(Path.Combine(directory, node + StoreLayout.StatusSuffix), JsonSerializer.Serialize(status, BundleJsonContext.Default.StatusRecord));
        }

        return zipPath;
    }

    /// <summary>Rewrites one entry of a zip with other bytes, keeping every other entry (and the manifest) as it was.</summary>
    public static void ReplaceEntry(string zipPath, string entryName, byte[] content)
    {
        using var zip = ZipFile.Open(zipPath, ZipArchiveMode.Update);
        var entry = zip.GetEntry(entryName) ?? throw new InvalidOperationException($"no entry {entryName}");
        entry.Delete();
        var replacement = zip.CreateEntry(entryName);
        using var stream = replacement.Open();
        stream.Write(content);
    }
}
