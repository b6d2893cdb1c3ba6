using System.Diagnostics;
using System.Text.RegularExpressions;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.LogRules;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Agent.Redaction;

// periscope-bench classify FILE [EVIDENCE]   classify a kmsg-format log exactly as the kernel collector does
//                                            (window and size bound off); prints the matching record count
// periscope-bench export-patterns            the rule table's patterns as POSIX ERE, one per line, for grep -E -f
// periscope-bench redact IN OUT               redact IN to OUT exactly as evidence files are (default rules)
// periscope-bench upload CONNECTION_FILE CONTAINER FILE RUNID
//                                            upload FILE as RUNID's bundle exactly as the Blob sink does (default
//                                            4 MiB blocks, 2 in flight); prints the upload's seconds
switch (args.FirstOrDefault())
{
    case "upload" when args.Length >= 5:
        return await UploadAsync(args[1], args[2], args[3], args[4]);
    case "redact" when args.Length >= 3:
        return await RedactAsync(args[1], args[2]);
    case "classify" when args.Length >= 2:
        return await ClassifyAsync(args[1], args.Length > 2 ? args[2] : null);
    case "export-patterns":
        foreach (var rule in KernelRules.Default.Rules)
        {
            Console.WriteLine(Regex.Replace(rule.Definition.Pattern, @"\(\?<[A-Za-z0-9]+>", "("));
        }

        return 0;
    default:
        await Console.Error.WriteLineAsync("usage: periscope-bench classify FILE [EVIDENCE] | export-patterns | redact IN OUT");
        return 2;
}

static async Task<int> ClassifyAsync(string path, string? evidencePath)
{
    var stopwatch = Stopwatch.StartNew();
    var analyzer = new KernelEventAnalyzer(KernelRules.Default, ContainerDirectory.Load(new HostRoot("/nonexistent")), "bench", "kernel/kmsg.log");
    // Without an evidence path only classification is measured; with one, the collector's whole text path.
    await using var evidence = evidencePath is null ? null : new StreamWriter(evidencePath, false, new System.Text.UTF8Encoding(false), 64 * 1024);
    var sink = new KernelRecordSink(evidence, analyzer, DateTimeOffset.MinValue, DateTimeOffset.MaxValue);
    var stats = new KmsgReadStats();
    await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan))
    {
        await KernelTextReaders.ReadCapturedKmsgAsync(stream, bootTime: null, sink, long.MaxValue, stats, CancellationToken.None);
    }

    var findings = analyzer.Finish();
    Console.WriteLine(analyzer.MatchedRecords);
    await Console.Error.WriteLineAsync($"records {sink.Records}, matched {analyzer.MatchedRecords}, observations {findings.Count}, {stats.BytesRead} bytes in {stopwatch.Elapsed.TotalSeconds:0.000} s");
    return 0;
}

static async Task<int> UploadAsync(string connectionFile, string container, string file, string runId)
{
    var status = file + ".status.json";
    await File.WriteAllTextAsync(status, $$"""{"runId":"{{runId}}","node":"bench"}""");
    var exporter = new Periscope.Agent.Export.BlobBundleExporter(Microsoft.Extensions.Options.Options.Create(new Periscope.Agent.Export.BlobSinkOptions
    {
        Auth = "connection-string",
        ConnectionStringFile = connectionFile,
        Container = container,
    }));
    var stopwatch = Stopwatch.StartNew();
    var result = await exporter.UploadAsync(runId, "bench", file, status, CancellationToken.None);
    var seconds = stopwatch.Elapsed.TotalSeconds;
    if (!result.Succeeded)
    {
        await Console.Error.WriteLineAsync(result.Error);
        return 1;
    }

    Console.WriteLine(seconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture));
    return 0;
}

static async Task<int> RedactAsync(string input, string output)
{
    var stopwatch = Stopwatch.StartNew();
    var redactor = new LineRedactor(Redactor.Default);
    long bytes;
    await using (var source = new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan))
    await using (var destination = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1024 * 1024))
    await using (var redacting = new RedactingStream(destination, redactor, leaveOpen: true))
    {
        bytes = source.Length;
        await source.CopyToAsync(redacting, 1024 * 1024);
    }

    await Console.Error.WriteLineAsync($"{bytes} bytes in {stopwatch.Elapsed.TotalSeconds:0.000} s; replaced {string.Join(", ", redactor.Counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"))}");
    return 0;
}
