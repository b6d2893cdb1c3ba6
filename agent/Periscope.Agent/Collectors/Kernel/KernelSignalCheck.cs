using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// The signal loop's kernel check: the records added to the kernel's log since the last pass — from /dev/kmsg (a
/// device on a live node, a captured file in a replay), else the kernel's buffer by syslog(2) — classified by the
/// collector's rule table. Each record is classified once (<see cref="KernelWatermark"/>); the first pass reads back
/// the hold-down only (older records are history, not signals). kern.log and the journal are left to full runs.
/// </summary>
internal sealed class KernelSignalCheck(IOptions<KernelCollectorOptions> options) : ISignalCheck
{
    private readonly KernelWatermark _watermark = new();

    public string Name => "kernel.log";

    public IReadOnlyCollection<string> Covers { get; } = KernelRules.Default.Rules.Select(r => r.Definition.Code).Distinct(StringComparer.Ordinal).ToList();

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var kmsg = options.Value.KmsgPath;
        return host.IsCharacterDevice(kmsg) || host.FileExists(kmsg) || host.FileExists(KernelCollector.BootIdPath)
            ? CollectorSupport.Supported(kmsg)
            : CollectorSupport.Unsupported($"no {kmsg} under {host.Root}, and not this machine's kernel");
    }

    public async Task CheckAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var bootTime = await KernelCollector.BootTimeAsync(context, cancellationToken);
        if (bootTime is null)
        {
            context.Output.MarkPartial("the boot time is unknown: records cannot be placed in time");
            return;
        }

        var analyzer = new KernelEventAnalyzer(KernelRules.Default, ContainerDirectory.Load(context.Host), context.NodeName,
            context.Output.BundlePath(KernelCollector.EvidenceFile));
        // The first pass reads back the hold-down (context.Since); later ones everything past the mark, however long
        // a pass took.
        var since = _watermark.Time is null ? context.Since : DateTimeOffset.MinValue;
        var sink = new KernelRecordSink(null, analyzer, since, DateTimeOffset.MaxValue) { Watermark = _watermark };
        var stats = new KmsgReadStats();
        string? error;
        try
        {
            if (context.Host.IsCharacterDevice(o.KmsgPath))
            {
                using var device = context.Host.OpenCharacterDevice(o.KmsgPath);
                error = KmsgDeviceReader.Read(device, o.KmsgPath, bootTime, sink, o.MaxBytes, stats, cancellationToken);
            }
            else if (context.Host.FileExists(o.KmsgPath))
            {
                await using var stream = context.Host.OpenRead(o.KmsgPath);
                await KernelTextReaders.ReadCapturedKmsgAsync(stream, bootTime, sink, o.MaxBytes, stats, cancellationToken);
                error = null;
            }
            else
            {
                error = await KernelCollector.RunsOnThisKernelAsync(context, cancellationToken)
                    ? SyslogBufferReader.Read(bootTime, sink, o.MaxBytes, stats)
                    : $"no {o.KmsgPath}, and the host root is not this machine's";
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
        }

        if (error is not null)
        {
            _watermark.Discard();
            context.Output.MarkPartial(error);
            return;
        }

        _watermark.Commit();
        foreach (var observation in analyzer.Finish())
        {
            context.Output.Report(observation);
        }
    }
}
