using Microsoft.Extensions.DependencyInjection;
using Periscope.Agent.Redaction;
using Periscope.Bundle;

namespace Periscope.Agent.Cli;

/// <summary>
/// <c>periscope-agent redact --in BUNDLE --out BUNDLE</c>: re-redacts an existing bundle with today's rules (for
/// bundles made before a rule existed). The input is verified first (every entry against the manifest's hashes); the
/// output is a new bundle whose manifest carries the new hashes and the added redaction counts, written under a
/// temporary name, verified again, then renamed. Line counts do not change, so evidence references stay true.
/// </summary>
internal static class RedactCommand
{
    public static async Task<int> RunAsync(string input, string output, TextWriter stdout, TextWriter stderr, Action<IServiceCollection>? configure, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, $".{Path.GetFileName(output)}.{Guid.NewGuid():N}.tmp");
        try
        {
            if (File.Exists(output) || Directory.Exists(output))
            {
                throw new IOException($"{output} already exists; redact never overwrites a bundle.");
            }

            using var host = Hosting.AgentHost.Build(new Dictionary<string, string?>(), verbose: false, configure);
            var redactor = host.Services.GetRequiredService<RedactorFactory>().ForBundle();
            using var reader = BundleReader.Open(File.OpenRead(input));
            var problems = reader.VerifyAll(cancellationToken);
            if (problems.Count > 0)
            {
                throw new InvalidDataException($"{input} fails verification, so it is not rewritten: {string.Join("; ", problems)}");
            }

            var added = new Dictionary<string, long>(StringComparer.Ordinal);
            var manifest = reader.Manifest;
            await using (var file = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            await using (var writer = new BundleWriter(file, manifest.EndedAt))
            {
                var collectors = new List<CollectorRecord>();
                foreach (var collector in manifest.Collectors)
                {
                    var files = new List<BundleFileRecord>();
                    foreach (var record in collector.Files)
                    {
                        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
                        var written = await CopyRedactedAsync(reader, writer, record.Path, redactor, counts, cancellationToken);
                        files.Add(record with { Size = written.Size, Sha256 = written.Sha256, Redactions = Merge(record.Redactions, counts, added) });
                    }

                    collectors.Add(collector with { Files = files, Error = collector.Error is null ? null : redactor.RedactLine(collector.Error, added) });
                }

                var factsCounts = new Dictionary<string, long>(StringComparer.Ordinal);
                var findingsCounts = new Dictionary<string, long>(StringComparer.Ordinal);
                var facts = DocumentRedaction.Redact(reader.ReadFacts(), BundleJsonContext.Default.FactsDocument, redactor, factsCounts);
                var findings = DocumentRedaction.Redact(reader.ReadFindings(), BundleJsonContext.Default.FindingsDocument, redactor, findingsCounts);
                var before = manifest.Documents.ToDictionary(d => d.Path, StringComparer.Ordinal);
                await writer.SealAsync(facts, findings, documents => manifest with
                {
                    Collectors = collectors,
                    Documents = [.. documents.Select(d => d with
                    {
                        Redactions = Merge(before.GetValueOrDefault(d.Path)?.Redactions, d.Path == BundleSchema.FactsEntry ? factsCounts : findingsCounts, added),
                    })],
                }, cancellationToken);
            }

            using (var check = BundleReader.Open(File.OpenRead(temp), manifest.Node.Name))
            {
                var after = check.VerifyAll(cancellationToken);
                if (after.Count > 0)
                {
                    throw new InvalidDataException($"the rewritten bundle fails verification: {string.Join("; ", after)}");
                }
            }

            File.Move(temp, output, overwrite: false);
            var replaced = added.Count == 0 ? "nothing new to replace" : "replaced " + string.Join(", ", added.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key} {a.Value}"));
            await stdout.WriteLineAsync($"{output}: {manifest.Collectors.Sum(c => c.Files.Count)} evidence files re-redacted and verified; {replaced}.");
            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or BundleRejectedException or ArgumentException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            TryDelete(temp);
            var message = ex is Microsoft.Extensions.Options.OptionsValidationException validation ? string.Join(" ", validation.Failures) : ex.Message;
            await stderr.WriteLineAsync($"periscope-agent redact: {message}");
            return ExitCodes.Unknown;
        }
    }

    private static async Task<BundleFileRecord> CopyRedactedAsync(
        BundleReader reader, BundleWriter writer, string path, Redactor redactor, Dictionary<string, long> counts, CancellationToken cancellationToken)
    {
        var lines = new LineRedactor(redactor, counts);
        await using var source = reader.OpenEntry(path);
        if (path.EndsWith(".json", StringComparison.Ordinal))
        {
            using var buffer = new MemoryStream();
            await source.CopyToAsync(buffer, cancellationToken);
            var redacted = JsonRedaction.Redact(buffer.ToArray(), lines);
            using var content = new MemoryStream(redacted, writable: false);
            return await writer.AddEntryAsync(path, content, cancellationToken);
        }

        await using (var entry = writer.OpenEntry(path))
        await using (var redacting = new RedactingStream(entry, lines, leaveOpen: true))
        {
            await source.CopyToAsync(redacting, cancellationToken);
        }

        return writer.Written.Single(w => w.Path == path);
    }

    private static Dictionary<string, long>? Merge(IReadOnlyDictionary<string, long>? before, Dictionary<string, long> now, Dictionary<string, long> total)
    {
        foreach (var (rule, count) in now)
        {
            total[rule] = total.GetValueOrDefault(rule) + count;
        }

        var merged = new Dictionary<string, long>(before ?? new Dictionary<string, long>(), StringComparer.Ordinal);
        foreach (var (rule, count) in now)
        {
            merged[rule] = merged.GetValueOrDefault(rule) + count;
        }

        return merged.Count == 0 ? null : merged;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind: a dot-file the next run ignores.
        }
    }
}
