using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collection;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// The kernel log: /dev/kmsg (a device on a live node, a captured file in a replay), else the kernel's buffer by
/// syslog(2), else kern.log, else the journal. Records inside the run's window are written to <c>kernel/kmsg.log</c>,
/// one line each, and the kernel-facility ones are classified with the rule table in <c>kernel-rules.json</c>. When
/// they came from the kernel's buffer, which a reboot empties, the previous boot's kernel messages are read from the
/// persistent journal too (<c>kernel/previous-boot.log</c>): after a reboot, that is where the cause is.
/// </summary>
internal sealed partial class KernelCollector(IOptions<KernelCollectorOptions> options, ILogger<KernelCollector> logger) : ICollector
{
    public const string EvidenceFile = "kmsg.log";
    public const string PreviousBootFile = "previous-boot.log";

    /// <summary>The running kernel's boot id (with dashes), as the host's /proc gives it.</summary>
    internal const string BootIdPath = "/proc/sys/kernel/random/boot_id";

    /// <summary>Most previous-boot entries read (the newest of the window are kept), and at most this many bytes.</summary>
    public const int MaxPreviousBootEntries = 20_000;

    public const long MaxPreviousBootBytes = 16 * 1024 * 1024;
    private readonly ILogger _logger = logger;

    public string Name => "kernel"; // bundle folder + config key: never rename

    public string Description => "Kernel log (/dev/kmsg, syslog(2), kern.log or journal; the previous boot's from the journal) classified into OOM kills, lockups, filesystem, disk, memory and NIC errors.";

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var o = options.Value;
        if (host.FileExists(o.KmsgPath) || host.IsCharacterDevice(o.KmsgPath))
        {
            return CollectorSupport.Supported($"{o.KmsgPath} is present");
        }

        if (host.FileExists(o.KernLogPath))
        {
            return CollectorSupport.Supported($"{o.KernLogPath} is present");
        }

        return host.DirectoryExists("/var/log/journal") || host.DirectoryExists("/run/log/journal")
            ? CollectorSupport.Supported("a journal directory is present")
            : CollectorSupport.Unsupported($"no kernel log under {host.Root}: no {o.KmsgPath}, {o.KernLogPath} or journal");
    }

    public async Task CollectAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var bootTime = await BootTimeAsync(context, cancellationToken);
        var containers = ContainerDirectory.Load(context.Host);
        var analyzer = new KernelEventAnalyzer(KernelRules.Default, containers, context.NodeName, context.Output.BundlePath(EvidenceFile));
        var stats = new KmsgReadStats();
        var errors = new List<string>();
        string source = "none";

        await using (var file = context.Output.CreateFile(EvidenceFile))
        await using (var writer = new StreamWriter(file, new UTF8Encoding(false), 64 * 1024) { NewLine = "\n" })
        {
            var sink = new KernelRecordSink(writer, analyzer, context.Since, context.Until);
            if (context.Host.IsCharacterDevice(o.KmsgPath))
            {
                string? error;
                try
                {
                    // Opened by descriptor inside the host root and checked to be a device on it: a link or file swapped
                    // in after the check above is refused, not read as the kernel's log.
                    using var device = context.Host.OpenCharacterDevice(o.KmsgPath);
                    error = KmsgDeviceReader.Read(device, o.KmsgPath, bootTime, sink, o.MaxBytes, stats, cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    error = ex.Message;
                }

                source = error is null ? "kmsg" : source;
                AddError(errors, error);
            }
            else if (context.Host.FileExists(o.KmsgPath))
            {
                source = await TryReadAsync(context, o.KmsgPath, errors,
                    stream => KernelTextReaders.ReadCapturedKmsgAsync(stream, bootTime, sink, o.MaxBytes, stats, cancellationToken), cancellationToken)
                    ? "kmsg-file" : source;
            }
            else
            {
                errors.Add($"{o.KmsgPath} does not exist");
            }

            if (source == "none" && !context.Offline && await RunsOnThisKernelAsync(context, cancellationToken))
            {
                // A pod without privileged has no /dev/kmsg, but root with CAP_SYSLOG may read the ring by syslog(2).
                var error = SyslogBufferReader.Read(bootTime, sink, o.MaxBytes, stats);
                if (error is null)
                {
                    source = "syslog";
                    context.Output.Count("recordsLostUncountable", 1); // syslog(2) gives no sequence numbers
                }

                AddError(errors, error);
            }

            if (source == "none" && context.Host.FileExists(o.KernLogPath))
            {
                source = await TryReadAsync(context, o.KernLogPath, errors,
                    stream => KernelTextReaders.ReadKernLogAsync(stream, context.Time.GetUtcNow(), sink, o.MaxBytes, stats, cancellationToken), cancellationToken)
                    ? "kern.log" : source;
            }

            if (source == "none")
            {
                var error = await KernelTextReaders.ReadJournalAsync(context, sink, o.MaxBytes, stats, cancellationToken);
                source = error is null ? "journal" : source;
                AddError(errors, error);
            }

            await writer.FlushAsync(cancellationToken);

            // The buffer's sources hold this boot only; kern.log and the journal already span boots.
            KernelPreviousBootFacts? previousBoot = null;
            if (source is "kmsg" or "kmsg-file" or "syslog")
            {
                previousBoot = await ReadPreviousBootAsync(context, containers, o, cancellationToken);
            }

            if (source == "none")
            {
                context.Output.MarkPartial("no kernel log source could be read: " + string.Join("; ", errors));
            }

            if (stats.RecordsLost > 0 || stats.OverrunEvents > 0)
            {
                context.Output.Count("kmsgRecordsLost", stats.RecordsLost);
                context.Output.Count("kmsgOverruns", stats.OverrunEvents);
            }

            if (sink.Unparsed > 0)
            {
                context.Output.Count("unparsedLines", sink.Unparsed);
            }

            foreach (var observation in analyzer.Finish())
            {
                context.Output.Report(observation);
            }

            context.Output.SetFacts(new KernelFacts
            {
                Source = source,
                SourceErrors = errors,
                Records = sink.Records,
                KernelRecords = sink.KernelRecords,
                RecordsLost = stats.RecordsLost,
                UnparsedLines = sink.Unparsed,
                Truncated = stats.Truncated,
                BootTime = bootTime,
                FirstRecord = sink.First,
                LastRecord = sink.Last,
                Events = new Dictionary<string, long>(analyzer.Events, StringComparer.Ordinal),
                PreviousBoot = previousBoot,
            });
            LogRead(source, sink.Records, stats.RecordsLost);
        }
    }

    /// <summary>
    /// The kernel messages of the newest boot in the persistent journal that is not the current one (its boot id from
    /// the host's /proc; in a replay without it, the newest boot is taken as current), inside the window, bounded by
    /// entries and bytes, classified like the current boot's: each finding carries <c>boot=previous</c>.
    /// </summary>
    private static async Task<KernelPreviousBootFacts> ReadPreviousBootAsync(
        CollectionContext context, ContainerDirectory containers, KernelCollectorOptions o, CancellationToken cancellationToken)
    {
        if (!context.Host.DirectoryExists(HostJournal.PersistentDirectory))
        {
            return new KernelPreviousBootFacts { Source = "none", Error = $"no persistent journal ({HostJournal.PersistentDirectory}): the node keeps no earlier boot's messages" };
        }

        var (boots, problem) = await HostJournal.ListBootsAsync(context, HostJournal.PersistentDirectory, cancellationToken);
        if (problem is not null)
        {
            return new KernelPreviousBootFacts { Source = "none", Error = problem };
        }

        var current = (await TryReadAsync(context, BootIdPath, cancellationToken))?.Trim().Replace("-", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        var earlier = current is { Length: 32 } && boots.Any(b => b.BootId == current)
            ? boots.TakeWhile(b => b.BootId != current).LastOrDefault()
            : current is { Length: 32 } ? (boots.Count > 0 ? boots[^1] : null) : boots.Count > 1 ? boots[^2] : null;
        if (earlier is null)
        {
            return new KernelPreviousBootFacts { Source = "none", Error = "the persistent journal holds no boot before the current one" };
        }

        var analyzer = new KernelEventAnalyzer(KernelRules.Default, containers, context.NodeName, context.Output.BundlePath(PreviousBootFile));
        var stats = new KmsgReadStats();
        JournalRead read;
        long records;
        await using (var file = context.Output.CreateFile(PreviousBootFile))
        await using (var writer = new StreamWriter(file, new UTF8Encoding(false), 64 * 1024) { NewLine = "\n" })
        {
            var sink = new KernelRecordSink(writer, analyzer, context.Since, context.Until);
            read = await HostJournal.ReadAsync(context, ["_BOOT_ID=" + earlier.BootId, "_TRANSPORT=kernel"], Math.Min(o.MaxBytes, MaxPreviousBootBytes),
                MaxPreviousBootEntries, entry => sink.Accept(KernelTextReaders.ToRecord(entry)), cancellationToken, only: HostJournal.PersistentDirectory);
            records = sink.Records;
            await writer.FlushAsync(cancellationToken);
        }

        foreach (var observation in analyzer.Finish())
        {
            context.Output.Report(observation with
            {
                Detail = $"{observation.Detail} (previous boot {earlier.BootId}, until about {earlier.LastEntry:yyyy-MM-dd HH:mm:ss}Z)".TrimStart(),
                Attributes = new Dictionary<string, string>(observation.Attributes, StringComparer.Ordinal) { ["boot"] = "previous" },
            });
        }

        return new KernelPreviousBootFacts
        {
            Source = read.Problem is null ? "journal" : "none",
            Error = read.Problem,
            BootId = earlier.BootId,
            FirstEntry = earlier.FirstEntry,
            LastEntry = earlier.LastEntry,
            Records = records,
            Truncated = read.Capped || records >= MaxPreviousBootEntries,
            Events = new Dictionary<string, long>(analyzer.Events, StringComparer.Ordinal),
        };
    }

    private async Task<bool> TryReadAsync(
        CollectionContext context, string path, List<string> errors, Func<Stream, Task> read, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = context.Host.OpenRead(path);
            await read(stream);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSourceFailed(path, ex.Message);
            errors.Add($"{path}: {ex.Message}");
            return false;
        }
    }

    /// <summary>Boot time: btime of /proc/stat, else now minus /proc/uptime, else unknown (no time window).</summary>
    /// <summary>
    /// Whether the host root is the machine the agent runs on (its boot id is the agent's): only then is the kernel's
    /// own buffer the node's log. A captured node directory never is.
    /// </summary>
    internal static async Task<bool> RunsOnThisKernelAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        var node = await TryReadAsync(context, BootIdPath, cancellationToken);
        try
        {
            return node is not null && string.Equals(node.Trim(), (await File.ReadAllTextAsync(BootIdPath, cancellationToken)).Trim(), StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    internal static async Task<DateTimeOffset?> BootTimeAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        var stat = await TryReadAsync(context, "/proc/stat", cancellationToken);
        if (stat is not null && ProcParsers.BootTime(stat) is { } btime)
        {
            return btime;
        }

        var uptime = await TryReadAsync(context, "/proc/uptime", cancellationToken);
        return uptime is not null && ProcParsers.Uptime(uptime) is { } seconds
            ? context.Time.GetUtcNow().AddSeconds(-seconds)
            : null;
    }

    private static async Task<string?> TryReadAsync(CollectionContext context, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await context.Host.TryReadTextAsync(path, 1024 * 1024, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void AddError(List<string> errors, string? error)
    {
        if (error is not null)
        {
            LogSourceFailed("kernel log", error);
            errors.Add(error);
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Kernel log source {Source} could not be read: {Reason}")]
    private partial void LogSourceFailed(string source, string reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Debug, Message = "Read {Records} kernel log records from {Source}; {Lost} lost to overruns.")]
    private partial void LogRead(string source, long records, long lost);
}
