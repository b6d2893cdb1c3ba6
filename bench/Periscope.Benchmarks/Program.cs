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
// periscope-bench generate-run TEMPLATE.zip STORE RUNID NODES [EVIDENCE_KIB=100] [FIRST=0]
//                                            write NODES bundles shaped like TEMPLATE (its manifest, facts and
//                                            findings; 50 pools) with EVIDENCE_KIB of kernel log each, and their
//                                            status records: a run for the collector's scale benchmark (node
//                                            numbers from FIRST, so that a later call adds nodes to the run)
// periscope-bench upload-store CONNECTION_FILE CONTAINER STORE RUNID [PARALLEL=32]
//                                            upload every sealed bundle of STORE/RUNID exactly as the Blob sink
//                                            does (zip, then status record with its metadata), PARALLEL at once
// periscope-bench generate-heavy STORE RUNID NODES FINDINGS_MIB
//                                            write NODES bundles whose findings.json is FINDINGS_MIB (5,000 findings
//                                            with long details): the most a reader accepts, for the memory benchmark
switch (args.FirstOrDefault())
{
    case "generate-heavy" when args.Length >= 5:
        return await GenerateHeavyAsync(args[1], args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture));
    case "generate-run" when args.Length >= 5:
        return await GenerateRunAsync(args[1], args[2], args[3], int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture),
            args.Length > 5 ? int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture) : 100,
            args.Length > 6 ? int.Parse(args[6], System.Globalization.CultureInfo.InvariantCulture) : 0);
    case "upload-store" when args.Length >= 5:
        return await UploadStoreAsync(args[1], args[2], args[3], args[4], args.Length > 5 ? int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture) : 32);
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

static async Task<int> UploadStoreAsync(string connectionFile, string container, string store, string runId, int parallel)
{
    var exporter = new Periscope.Agent.Export.BlobBundleExporter(Microsoft.Extensions.Options.Options.Create(new Periscope.Agent.Export.BlobSinkOptions
    {
        Auth = "connection-string",
        ConnectionStringFile = connectionFile,
        Container = container,
    }));
    var directory = Path.Combine(store, runId);
    var nodes = Directory.EnumerateFiles(directory, "*" + Periscope.Bundle.StoreLayout.StatusSuffix)
        .Select(f => Path.GetFileName(f)[..^Periscope.Bundle.StoreLayout.StatusSuffix.Length])
        .ToList();
    var stopwatch = Stopwatch.StartNew();
    var failed = 0;
    await Parallel.ForEachAsync(nodes, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (node, token) =>
    {
        var result = await exporter.UploadAsync(runId, node, Path.Combine(directory, node + Periscope.Bundle.StoreLayout.BundleSuffix),
            Path.Combine(directory, node + Periscope.Bundle.StoreLayout.StatusSuffix), token);
        if (!result.Succeeded && !result.AlreadyUploaded)
        {
            Interlocked.Increment(ref failed);
            await Console.Error.WriteLineAsync($"{node}: {result.Error}");
        }
    });
    await Console.Error.WriteLineAsync($"{nodes.Count - failed} of {nodes.Count} bundles uploaded in {stopwatch.Elapsed.TotalSeconds:0.0} s");
    return failed == 0 ? 0 : 1;
}

static async Task<int> GenerateRunAsync(string template, string store, string runId, int nodes, int evidenceKib, int first)
{
    var stopwatch = Stopwatch.StartNew();
    Periscope.Bundle.Manifest manifest;
    Periscope.Bundle.Facts.FactsDocument facts;
    Periscope.Bundle.FindingsDocument findings;
    using (var reader = Periscope.Bundle.BundleReader.Open(File.OpenRead(template), Path.GetFileNameWithoutExtension(template), null))
    {
        manifest = reader.Manifest;
        facts = reader.ReadFacts();
        findings = reader.ReadFindings();
    }

    var directory = Path.Combine(store, runId);
    Directory.CreateDirectory(directory);
    // Kernel-log-like lines with varying times, ports and interface ids: about as compressible as real logs.
    var random = new Random(20261130);
    var text = new System.Text.StringBuilder(evidenceKib * 1024 + 200);
    string[] messages = ["cni0: port {0}(veth{1:x8}) entered forwarding state", "IPv6: ADDRCONF(NETDEV_CHANGE): veth{1:x8}: link becomes ready",
        "eth0: renamed from tmp{1:x6}", "audit: type=1400 audit({2}.{0:000}:{0}): apparmor=\"STATUS\" operation=\"profile_load\" name=\"cri-containerd.apparmor.d\" pid={0}"];
    while (text.Length < evidenceKib * 1024)
    {
        var uptime = random.Next(100, 900000);
        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"<6>[{uptime}.{random.Next(0, 999999):000000}] ");
        text.AppendFormat(System.Globalization.CultureInfo.InvariantCulture, messages[random.Next(messages.Length)], random.Next(1, 4096), random.Next(), 1764000000 + uptime).Append('\n');
    }

    var evidence = System.Text.Encoding.ASCII.GetBytes(text.ToString());

    var start = manifest.StartedAt;
    for (var i = first; i < first + nodes; i++)
    {
        var node = $"aks-pool{i % 50:00}-{i:000000}-vmss{i:000000}";
        var pool = $"pool{i % 50:00}";
        // Every third node has the template's findings, the rest none: shared findings and healthy nodes both occur.
        var nodeFindings = i % 3 == 0 ? findings : new Periscope.Bundle.FindingsDocument { Findings = [] };
        await SealNodeAsync(directory, node, start, manifest.EndedAt, evidence, facts, nodeFindings, (record, documents) => manifest with
        {
            RunId = runId,
            Node = manifest.Node with { Name = node, Pool = pool },
            Collectors = [new Periscope.Bundle.CollectorRecord { Name = "kernel", Status = Periscope.Bundle.CollectorStatus.Ok, Files = [record] }],
            Documents = documents,
        });
    }

    await Console.Error.WriteLineAsync($"{nodes} bundles in {stopwatch.Elapsed.TotalSeconds:0.0} s");
    return 0;
}

static async Task<int> GenerateHeavyAsync(string store, string runId, int nodes, double findingsMib)
{
    var directory = Path.Combine(store, runId);
    Directory.CreateDirectory(directory);
    const int count = 5_000;
    var detail = Math.Max(16, (int)(findingsMib * 1024 * 1024 / count) - 400);
    var start = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    var random = new Random(20261204);
    for (var n = 0; n < nodes; n++)
    {
        var node = $"heavy-{n:000}";
        var findings = new Periscope.Bundle.FindingsDocument
        {
            Findings = [.. Enumerable.Range(0, count).Select(i => new Periscope.Bundle.Finding
            {
                Code = "KERNEL_IO_ERROR",
                Severity = Periscope.Bundle.Severity.Warning,
                Title = $"I/O error on device sd{i}",
                Detail = string.Create(detail, random.Next(), (span, seed) =>
                {
                    var r = new Random(seed);
                    for (var c = 0; c < span.Length; c++)
                    {
                        span[c] = (char)('a' + r.Next(26));
                    }
                }),
                Collector = "kernel",
                Subject = new Periscope.Bundle.FindingSubject(Periscope.Bundle.SubjectKind.Device, $"sd{i}"),
                Evidence = [new Periscope.Bundle.EvidenceReference("kernel/kmsg.log", i + 1)],
            })],
        };
        await SealNodeAsync(directory, node, start, start.AddSeconds(1), "line\n"u8.ToArray(), new Periscope.Bundle.Facts.FactsDocument(), findings, (record, documents) => new Periscope.Bundle.Manifest
        {
            RunId = runId,
            Node = new Periscope.Bundle.NodeIdentity { Name = node },
            Agent = "periscope-bench",
            StartedAt = start,
            EndedAt = start.AddSeconds(1),
            Collectors = [new Periscope.Bundle.CollectorRecord { Name = "kernel", Status = Periscope.Bundle.CollectorStatus.Ok, Files = [record] }],
            Documents = documents,
        });
    }

    return 0;
}

// Seals one node's bundle (kernel/kmsg.log evidence, the given documents) into DIRECTORY, then its status record.
static async Task SealNodeAsync(
    string directory, string node, DateTimeOffset start, DateTimeOffset end, byte[] evidence, Periscope.Bundle.Facts.FactsDocument facts,
    Periscope.Bundle.FindingsDocument findings, Func<Periscope.Bundle.BundleFileRecord, IReadOnlyList<Periscope.Bundle.BundleFileRecord>, Periscope.Bundle.Manifest> manifest)
{
    long size, content;
    string sha;
    string runId;
    await using (var file = File.Create(Path.Combine(directory, node + Periscope.Bundle.StoreLayout.BundleSuffix)))
    {
        await using var writer = new Periscope.Bundle.BundleWriter(file, start);
        var record = await writer.AddEntryAsync("kernel/kmsg.log", new MemoryStream(evidence), CancellationToken.None);
        Periscope.Bundle.Manifest? sealedManifest = null;
        await writer.SealAsync(facts, findings, documents => sealedManifest = manifest(record, documents), CancellationToken.None);
        runId = sealedManifest!.RunId;
        size = writer.BundleSize;
        sha = writer.BundleSha256;
        content = writer.ContentSize;
    }

    var counts = Periscope.Bundle.FindingCounts.Of(findings.Findings);
    await File.WriteAllTextAsync(Path.Combine(directory, node + Periscope.Bundle.StoreLayout.StatusSuffix), System.Text.Json.JsonSerializer.Serialize(new Periscope.Bundle.StatusRecord
    {
        Node = node,
        RunId = runId,
        Status = counts.Health,
        Collection = Periscope.Bundle.CollectorStatus.Ok,
        Findings = counts,
        BundleSize = size,
        ContentSize = content,
        Sha256 = sha,
        StartedAt = start,
        EndedAt = end,
    }, Periscope.Bundle.BundleJsonContext.Default.StatusRecord));
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
