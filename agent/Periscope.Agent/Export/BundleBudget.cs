using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Export;

/// <summary>
/// Applies the bundle's size bounds to the staged evidence before it is sealed: each file at most
/// <see cref="RunOptions.MaxFileBytes"/>, all of them at most <see cref="RunOptions.MaxBundleEvidenceBytes"/>.
/// Files are taken smallest first, so configs and small records are kept whole and the large logs share what is
/// left; a file over its share keeps its newest part, from the start of a line. Each cut is recorded on the staged
/// file (and so in the manifest), and findings' evidence lines are rebased onto the kept part.
/// </summary>
internal static class BundleBudget
{
    /// <summary>Cuts the staged files; returns, per cut file, how many lines were dropped from its start.</summary>
    public static async Task<Dictionary<string, long>> ApplyAsync(IReadOnlyList<CollectorResult> results, RunOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(options);
        var dropped = new Dictionary<string, long>(StringComparer.Ordinal);
        var files = results.SelectMany(r => r.Files)
            .Select(f => (File: f, Size: File.Exists(f.StagedPath) ? new FileInfo(f.StagedPath).Length : -1))
            .Where(f => f.Size >= 0)
            .OrderBy(f => f.Size)
            .ThenBy(f => f.File.BundlePath, StringComparer.Ordinal)
            .ToList();
        var remaining = options.MaxBundleEvidenceBytes;
        foreach (var (file, size) in files)
        {
            var allowed = Math.Min(options.MaxFileBytes, remaining);
            if (size <= allowed)
            {
                remaining -= size;
                continue;
            }

            var (kept, lines) = await KeepTailAsync(file.StagedPath, size, allowed, cancellationToken);
            file.StagedSize = size;
            file.KeptFrom = size - kept;
            var reason = allowed < options.MaxFileBytes ? $"the bundle's evidence cap of {options.MaxBundleEvidenceBytes} bytes" : $"the per-file cap of {options.MaxFileBytes} bytes";
            file.Note = (file.Note is null ? string.Empty : file.Note + "; ") + $"kept the newest {kept} of {size} bytes ({reason}); {lines} earlier lines dropped";
            dropped[file.BundlePath] = lines;
            remaining -= kept;
        }

        return dropped;
    }

    /// <summary>Findings whose evidence points into a cut file, with their line numbers rebased onto the kept part.</summary>
    public static IReadOnlyList<Finding> Rebase(IReadOnlyList<Finding> findings, IReadOnlyDictionary<string, long> droppedLines)
    {
        ArgumentNullException.ThrowIfNull(findings);
        ArgumentNullException.ThrowIfNull(droppedLines);
        if (droppedLines.Count == 0)
        {
            return findings;
        }

        return [.. findings.Select(f => f.Evidence.Any(e => droppedLines.ContainsKey(e.File))
            ? f with
            {
                Evidence = [.. f.Evidence
                    .Select(e => e.Line is { } line && droppedLines.TryGetValue(e.File, out var dropped) ? e with { Line = line - dropped } : e)
                    .Where(e => e.Line is null or > 0)], // a line in the dropped part is no longer in the bundle
            }
            : f)];
    }

    /// <summary>Longest title, detail and attribute value a finding carries into the bundle.</summary>
    public const int MaxTitleChars = 512;
    public const int MaxDetailChars = 4096;
    public const int MaxAttributeChars = 1024;

    /// <summary>
    /// Keeps findings within what every reader accepts (<see cref="BundleLimits.MaxFindings"/> findings,
    /// <see cref="BundleLimits.MaxFindingsSize"/> bytes): long texts are cut (marked with an ellipsis), and past the
    /// bounds the least severe findings (the list is worst first) are left out.
    /// </summary>
    /// <returns>The findings kept, and how many were left out.</returns>
    public static (IReadOnlyList<Finding> Kept, int LeftOut) BoundFindings(IReadOnlyList<Finding> findings, BundleLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(findings);
        limits ??= BundleLimits.Default;
        var budget = limits.MaxFindingsSize - 1024; // the document's own braces and version
        var kept = new List<Finding>(Math.Min(findings.Count, limits.MaxFindings));
        foreach (var finding in findings)
        {
            if (kept.Count == limits.MaxFindings)
            {
                break;
            }

            var cut = finding with
            {
                Title = Cut(finding.Title, MaxTitleChars),
                Detail = finding.Detail is null ? null : Cut(finding.Detail, MaxDetailChars),
                Attributes = finding.Attributes.Any(a => a.Value.Length > MaxAttributeChars)
                    ? finding.Attributes.ToDictionary(a => a.Key, a => Cut(a.Value, MaxAttributeChars), StringComparer.Ordinal)
                    : finding.Attributes,
            };
            // Written indented inside the document's list: every line of it moves four columns right.
            var bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(cut, BundleJsonContext.Default.Finding);
            var size = bytes.Length + (4 * (bytes.AsSpan().Count((byte)'\n') + 1)) + 2;
            if (size > budget)
            {
                break;
            }

            budget -= size;
            kept.Add(cut);
        }

        return (kept, findings.Count - kept.Count);
    }

    private static string Cut(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");

    /// <summary>Rewrites the file to its last <paramref name="allowed"/> bytes, from the first line start within them.</summary>
    private static async Task<(long Kept, long DroppedLines)> KeepTailAsync(string path, long size, long allowed, CancellationToken cancellationToken)
    {
        // The cut: the first line start at or after size - allowed; the lines before it are counted to rebase evidence.
        var start = size - allowed;
        var cut = start;
        long droppedLines = 0;
        var buffer = new byte[64 * 1024];
        await using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan))
        {
            long position = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                var span = buffer.AsSpan(0, read);
                var before = (int)Math.Clamp(start - 1 - position, 0, read); // bytes of this block ahead of the byte before the cut
                droppedLines += span[..before].Count((byte)'\n');
                var newline = before < read ? span[before..].IndexOf((byte)'\n') : -1;
                if (newline >= 0)
                {
                    droppedLines++;
                    cut = position + before + newline + 1;
                    break;
                }

                position += read;
            }
        }

        var temp = path + ".tail";
        await using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan))
        await using (var target = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            source.Seek(cut, SeekOrigin.Begin);
            await source.CopyToAsync(target, cancellationToken);
        }

        File.Move(temp, path, overwrite: true);
        return (size - cut, droppedLines);
    }
}
