using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.System.Rules;
using Periscope.Agent.Collection;
using Periscope.Bundle.Facts;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.System;

/// <summary>
/// Basic node health: memory, load, pressure stall information, process ids, conntrack, the filesystems holding the
/// kubelet, runtime and log directories, read-only mounts, clock synchronisation, uptime, kernel and OS image.
/// It owns those facts (DESIGN.md: each fact has one owner).
/// </summary>
internal sealed partial class SystemCollector(
    IOptions<SystemCollectorOptions> options,
    IKernelClock kernelClock,
    ILogger<SystemCollector> logger) : ICollector
{
    private const int MaxProcFile = 1024 * 1024;
    private static readonly string[] TimeSyncServices = ["chronyd", "systemd-timesyncd", "ntpd", "ntpsec", "openntpd"];
    private readonly ILogger _logger = logger;

    public string Name => "system"; // bundle folder + config key: never rename

    public string Description => "Memory, load, PSI, PIDs, conntrack, disk and inode use, read-only mounts, clock sync, OS and kernel.";

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.FileExists("/proc/meminfo") || host.DirectoryExists("/etc")
            ? CollectorSupport.Supported("/proc and /etc are readable under the host root")
            : CollectorSupport.Unsupported($"the host root {host.Root} has neither /proc/meminfo nor /etc");
    }

    public async Task CollectAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var unavailable = new Dictionary<string, string>(StringComparer.Ordinal);

        async Task<string?> ReadAsync(string nodePath, string evidence, bool required)
        {
            string? text;
            try
            {
                text = await context.Host.TryReadTextAsync(nodePath, MaxProcFile, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                unavailable[nodePath] = ex.Message;
                if (required)
                {
                    context.Output.MarkPartial($"{nodePath} could not be read: {ex.Message}");
                }

                LogUnreadable(nodePath, ex.Message);
                return null;
            }

            if (text is null)
            {
                unavailable[nodePath] = "missing";
                if (required)
                {
                    context.Output.MarkPartial($"{nodePath} is missing");
                }

                return null;
            }

            await context.Output.WriteTextAsync(evidence, text, cancellationToken);
            return text;
        }

        var osRelease = await ReadAsync("/etc/os-release", "os-release", required: false)
            ?? await ReadAsync("/usr/lib/os-release", "usr-lib-os-release", required: false);
        var os = osRelease is null ? null : ProcParsers.OsRelease(osRelease);
        var kernelRelease = (await ReadAsync("/proc/sys/kernel/osrelease", "osrelease", required: true))?.Trim();
        var uptimeText = await ReadAsync("/proc/uptime", "uptime", required: true);
        var statText = await context.Host.TryReadTextAsync("/proc/stat", MaxProcFile, cancellationToken);
        var meminfoText = await ReadAsync("/proc/meminfo", "meminfo", required: true);
        var loadText = await ReadAsync("/proc/loadavg", "loadavg", required: true);
        // The node's mount table is its init's (/proc/1): /proc/mounts is the reader's own, which in the agent's pod is
        // the container's (its overlay and the read-only binds under /host), not the node's.
        var mountsText = await ReadAsync(context.Host.FileExists("/proc/1/mounts") ? "/proc/1/mounts" : "/proc/mounts", "mounts", required: true);

        var pressure = new Dictionary<string, PressureFacts>(StringComparer.Ordinal);
        foreach (var resource in new[] { "cpu", "memory", "io" })
        {
            // PSI is absent on kernels built or booted without it: a fact, not a failure.
            var text = await ReadAsync($"/proc/pressure/{resource}", $"pressure-{resource}", required: false);
            if (text is not null && ProcParsers.Pressure(text) is { } parsed)
            {
                pressure[resource] = parsed;
            }
        }

        var memory = CheckMemory(context, meminfoText, o);
        var load = loadText is null ? null : ProcParsers.LoadAverage(loadText);
        var pids = await CheckPidsAsync(context, load, o, cancellationToken);
        var conntrack = await CheckConntrackAsync(context, o, cancellationToken);
        var mounts = mountsText is null ? [] : ProcParsers.Mounts(mountsText);
        var filesystems = await CheckFilesystemsAsync(context, mounts, o, cancellationToken);
        var timeSync = await CheckTimeSyncAsync(context, cancellationToken);

        context.Output.SetFacts(new SystemFacts
        {
            KernelRelease = kernelRelease,
            OsImage = os?.GetValueOrDefault("PRETTY_NAME") ?? os?.GetValueOrDefault("NAME"),
            OsVersion = os is null ? null : $"{os.GetValueOrDefault("ID")} {os.GetValueOrDefault("VERSION_ID")}".Trim(),
            UptimeSeconds = uptimeText is null ? null : ProcParsers.Uptime(uptimeText),
            BootTime = statText is null ? null : ProcParsers.BootTime(statText),
            Memory = memory,
            Load = load,
            Pressure = pressure.Count == 0 ? null : pressure,
            Pids = pids,
            Conntrack = conntrack,
            Filesystems = filesystems,
            TimeSync = timeSync,
            Unavailable = unavailable.Count == 0 ? null : unavailable,
        });
    }

    private static MemoryFacts? CheckMemory(CollectionContext context, string? meminfoText, SystemCollectorOptions o)
    {
        if (meminfoText is null)
        {
            return null;
        }

        var values = ProcParsers.Meminfo(meminfoText);
        if (!values.TryGetValue("MemTotal", out var total) || !values.TryGetValue("MemAvailable", out var available))
        {
            context.Output.MarkPartial("/proc/meminfo has no MemTotal or MemAvailable");
            return null;
        }

        Observations.Report(context, MemoryPressureRule.Check(context, available, total, o));

        return new MemoryFacts(total.Bytes, available.Bytes);
    }

    private static async Task<PidFacts?> CheckPidsAsync(CollectionContext context, LoadFacts? load, SystemCollectorOptions o, CancellationToken cancellationToken)
    {
        var pidMax = ProcParsers.Integer(await context.Host.TryReadTextAsync("/proc/sys/kernel/pid_max", 64, cancellationToken));
        var threadsMax = ProcParsers.Integer(await context.Host.TryReadTextAsync("/proc/sys/kernel/threads-max", 64, cancellationToken));
        if (load is null || (pidMax is null && threadsMax is null))
        {
            return null;
        }

        // Every thread holds a pid; the kubelet takes the smaller of pid_max and threads-max as the limit.
        var limit = Math.Min(pidMax ?? long.MaxValue, threadsMax ?? long.MaxValue);
        var facts = new PidFacts(load.Threads, pidMax, threadsMax, limit);
        Observations.Report(context, PidPressureRule.Check(context, load.Threads, limit, o));

        return facts;
    }

    private static async Task<ConntrackFacts?> CheckConntrackAsync(CollectionContext context, SystemCollectorOptions o, CancellationToken cancellationToken)
    {
        // proc/sys/net shows the reader's network namespace: the DaemonSet runs with hostNetwork, so this is the node's.
        var countText = await context.Host.TryReadTextAsync("/proc/sys/net/netfilter/nf_conntrack_count", 64, cancellationToken);
        var maxText = await context.Host.TryReadTextAsync("/proc/sys/net/netfilter/nf_conntrack_max", 64, cancellationToken);
        if (ProcParsers.Integer(countText) is not { } count || ProcParsers.Integer(maxText) is not { } max || max <= 0)
        {
            return null; // nf_conntrack not loaded: nothing to track
        }

        await context.Output.WriteTextAsync("conntrack", $"nf_conntrack_count {count}\nnf_conntrack_max {max}\n", cancellationToken);
        Observations.Report(context, ConntrackNearLimitRule.Check(context, count, max, o));

        return new ConntrackFacts(count, max);
    }

    private async Task<List<FilesystemFacts>> CheckFilesystemsAsync(
        CollectionContext context, List<ProcParsers.MountEntry> mounts, SystemCollectorOptions o, CancellationToken cancellationToken)
    {
        var facts = new List<FilesystemFacts>();
        var kubeletMount = ProcParsers.MountFor(mounts, NodeRealPath(context.Host, o.KubeletDirectory));
        var roles = Roles(o);
        var reported = new HashSet<(string Code, string Mount)>();
        foreach (var (path, role) in roles)
        {
            var nodePath = NodeRealPath(context.Host, path);
            var exists = context.Host.DirectoryExists(path);
            var mount = ProcParsers.MountFor(mounts, nodePath);
            FileSystemUsage? usage = null;
            string? error;
            if (context.Offline)
            {
                error = "not measured in an offline replay: the replayed directory is not the node's filesystem";
            }
            else
            {
                usage = context.Host.GetUsage(path, out error); // the nearest existing ancestor where the directory is missing
                if (error is not null)
                {
                    LogUnreadable(path, error);
                }
            }

            var fact = new FilesystemFacts
            {
                Path = path,
                Role = role,
                MountPoint = mount?.MountPoint,
                Device = mount?.Device,
                FsType = mount?.FsType,
                ReadOnly = mount?.ReadOnly ?? false,
                Exists = exists,
                SizeBytes = usage?.SizeBytes,
                AvailableBytes = usage?.AvailableBytes,
                Inodes = usage?.Inodes,
                InodesFree = usage?.InodesFree,
                Error = error,
            };
            facts.Add(fact);

            var mountId = mount?.MountPoint ?? nodePath;
            if (ReadOnlyMountRule.Check(context, path, role, exists, mount) is { } readOnly && reported.Add((readOnly.Code, mountId)))
            {
                context.Output.Report(readOnly);
            }

            if (usage is null || usage.SizeBytes <= 0)
            {
                continue;
            }

            // A runtime directory on the kubelet's filesystem is nodefs to the kubelet; on its own it is imagefs.
            var sharesNodefs = role != "imagefs" || (mount is not null && kubeletMount is not null && mount.MountPoint == kubeletMount.MountPoint);
            var threshold = sharesNodefs ? o.NodeFsAvailableThresholdPercent : o.ImageFsAvailableThresholdPercent;
            if (DiskPressureRule.Check(context, path, role, mountId, usage, threshold) is { } full && reported.Add((full.Code, mountId)))
            {
                context.Output.Report(full);
            }

            if (InodePressureRule.Check(context, path, role, mountId, usage, o) is { } inodes && reported.Add((inodes.Code, mountId)))
            {
                context.Output.Report(inodes);
            }
        }

        var table = string.Join('\n', facts.Select(f =>
            $"{f.Path}\t{f.Role}\tmount={f.MountPoint}\tdevice={f.Device}\ttype={f.FsType}\tro={f.ReadOnly}\tsize={f.SizeBytes}\tavail={f.AvailableBytes}\tinodes={f.Inodes}\tifree={f.InodesFree}\terror={f.Error}"));
        await context.Output.WriteTextAsync("filesystems.txt", table + "\n", cancellationToken);
        return facts;
    }

    private async Task<TimeSyncFacts> CheckTimeSyncAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        var service = await FindTimeSyncServiceAsync(context.Host, cancellationToken);
        if (service is null)
        {
            return new TimeSyncFacts
            {
                State = "unknown",
                Detail = "no time-sync service (chronyd, systemd-timesyncd, ntpd) is running on the node; nothing to ask",
            };
        }

        if (context.Offline)
        {
            // The kernel clock read here would be this machine's, not the replayed node's.
            var marker = service == "systemd-timesyncd" && context.Host.FileExists("/run/systemd/timesync/synchronized");
            return new TimeSyncFacts
            {
                Service = service,
                State = marker ? "synchronized" : "unknown",
                Detail = marker
                    ? "systemd-timesyncd has synchronised since boot (/run/systemd/timesync/synchronized)"
                    : "offline replay: the kernel clock is not the node's",
            };
        }

        var state = kernelClock.Read(out var error);
        if (state is null)
        {
            LogUnreadable("adjtimex", error ?? "unknown error");
            return new TimeSyncFacts { Service = service, State = "unknown", Detail = error };
        }

        var facts = new TimeSyncFacts
        {
            Service = service,
            State = state.Unsynchronized ? "unsynchronized" : "synchronized",
            Detail = state.Unsynchronized
                ? $"{service} is running but the kernel clock is marked unsynchronised (adjtimex STA_UNSYNC)"
                : $"{service} keeps the kernel clock synchronised (adjtimex)",
            MaxErrorMicroseconds = state.MaxErrorMicroseconds,
        };
        Observations.Report(context, ClockUnsyncedRule.Check(context, service, state, facts.Detail));

        return facts;
    }

    private static async Task<string?> FindTimeSyncServiceAsync(INodeFileSystem host, CancellationToken cancellationToken)
    {
        foreach (var entry in host.ListDirectory("/proc"))
        {
            if (entry.Length == 0 || !char.IsAsciiDigit(entry[0]))
            {
                continue;
            }

            string? comm;
            try
            {
                comm = (await host.TryReadTextAsync($"/proc/{entry}/comm", 64, cancellationToken))?.Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // the process exited while we looked
            }

            if (comm is not null && TimeSyncServices.Contains(comm, StringComparer.Ordinal))
            {
                return comm;
            }
        }

        return null;
    }

    /// <summary>The node path of a directory after following its symlinks (re-rooted), for matching against /proc/mounts.</summary>
    /// <summary>The directories the node's work lives on, and the kubelet's name for each filesystem.</summary>
    internal static (string Path, string Role)[] Roles(SystemCollectorOptions o)
        => [(o.KubeletDirectory, "nodefs"), (o.ContainerdDirectory, "imagefs"), (o.LogDirectory, "logs")];

    internal static string NodeRealPath(INodeFileSystem host, string path)
    {
        try
        {
            return host.ToNodePath(host.Resolve(path));
        }
        catch (IOException)
        {
            return path;
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Host source {Path} could not be read: {Reason}")]
    private partial void LogUnreadable(string path, string reason);
}
