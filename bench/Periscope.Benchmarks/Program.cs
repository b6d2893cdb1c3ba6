using System.Diagnostics;
using System.Text.RegularExpressions;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.LogRules;
using Periscope.Agent.Collectors.Kernel;

// periscope-bench classify FILE [EVIDENCE]   classify a kmsg-format log exactly as the kernel collector does
//                                            (window and size bound off); prints the matching record count
// periscope-bench export-patterns            the rule table's patterns as POSIX ERE, one per line, for grep -E -f
switch (args.FirstOrDefault())
{
    case "classify" when args.Length >= 2:
        return await ClassifyAsync(args[1], args.Length > 2 ? args[2] : null);
    case "export-patterns":
        foreach (var rule in KernelRules.Default.Rules)
        {
            Console.WriteLine(Regex.Replace(rule.Definition.Pattern, @"\(\?<[A-Za-z0-9]+>", "("));
        }

        return 0;
    default:
        await Console.Error.WriteLineAsync("usage: periscope-bench classify FILE [EVIDENCE] | export-patterns");
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
