using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.System;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.System;

public sealed class SystemCollectorTests
{
    [Fact]
    public async Task Collect_HealthyNode_RaisesNothingAndRecordsFacts()
    {
        using var root = HealthyNode();

        var (observations, facts, output) = await CollectAsync(root, usage: Usage(50, 50));

        Assert.Empty(observations);
        Assert.Equal(16_000_000L * 1024, facts.Memory!.TotalBytes);
        Assert.Equal(812, facts.Pids!.InUse);
        Assert.Equal(32768, facts.Pids.Limit);
        Assert.Equal(1.5, facts.Pressure!["memory"].Some!.Avg10);
        Assert.Equal("Ubuntu 22.04.5 LTS", facts.OsImage);
        Assert.Equal("5.15.0-1074-azure", facts.KernelRelease);
        Assert.Equal(3, facts.Filesystems.Count);
        Assert.Equal("/var", facts.Filesystems[0].MountPoint);
        Assert.Equal(CollectorStatus.Ok, output.Status);
    }

    [Fact]
    public async Task Collect_DiskBelowNodefsThreshold_RaisesOneDiskPressurePerFilesystem()
    {
        using var root = HealthyNode();

        var (observations, _, _) = await CollectAsync(root, usage: Usage(availablePercent: 8, inodesFreePercent: 50));

        var disk = Assert.Single(observations);
        Assert.Equal("DISK_PRESSURE", disk.Code);
        Assert.Equal(new FindingSubject(SubjectKind.File, "/var"), disk.Subject); // kubelet, containerd and log dirs share /var
    }

    [Fact]
    public async Task Collect_SeparateImagefsBelowItsThreshold_UsesTheImagefsThreshold()
    {
        using var root = HealthyNode();
        root.File("/proc/mounts", Mounts + "/dev/sdc1 /var/lib/containerd ext4 rw,relatime 0 0\n");

        // 12 % free: above nodefs' 10 %, below imagefs' 15 %.
        var (observations, _, _) = await CollectAsync(root, usage: Usage(availablePercent: 12, inodesFreePercent: 50));

        var disk = Assert.Single(observations);
        Assert.Equal("/var/lib/containerd", disk.Subject.Id);
        Assert.Equal("imagefs", disk.Attributes["role"]);
    }

    [Fact]
    public async Task Collect_InodesBelowThreshold_RaisesInodePressure()
    {
        using var root = HealthyNode();

        var (observations, _, _) = await CollectAsync(root, usage: Usage(availablePercent: 50, inodesFreePercent: 3));

        Assert.Equal("INODE_PRESSURE", Assert.Single(observations).Code);
    }

    [Fact]
    public async Task Collect_LowMemoryPidsAndConntrack_RaisesEachWithEvidenceLine()
    {
        using var root = HealthyNode()
            .File("/proc/meminfo", "MemTotal:       16000000 kB\nMemFree:   1000 kB\nMemAvailable:      51200 kB\n")
            .File("/proc/loadavg", "9.00 8.00 7.00 12/30000 4242\n")
            .File("/proc/sys/net/netfilter/nf_conntrack_count", "125000\n");

        var (observations, _, _) = await CollectAsync(root, usage: Usage(50, 50));

        var memory = observations.Single(o => o.Code == "MEMORY_PRESSURE");
        Assert.Equal(new EvidenceReference("system/meminfo", 3), memory.Evidence);
        Assert.Equal("52428800", memory.Attributes["availableBytes"]);
        Assert.Contains(observations, o => o.Code == "PID_PRESSURE");
        Assert.Equal(Severity.Warning, observations.Single(o => o.Code == "CONNTRACK_NEAR_LIMIT").Severity);
    }

    [Fact]
    public async Task Collect_KubeletDirOnReadOnlyMount_RaisesFsReadonlyMount()
    {
        using var root = HealthyNode();
        root.File("/proc/mounts", Mounts + "/dev/sdb1 /var/lib/kubelet ext4 ro,relatime 0 0\n");

        var (observations, facts, _) = await CollectAsync(root, usage: Usage(50, 50));

        var readOnly = Assert.Single(observations);
        Assert.Equal("FS_READONLY_MOUNT", readOnly.Code);
        Assert.Equal("/var/lib/kubelet", readOnly.Subject.Id);
        Assert.Equal(new EvidenceReference("system/mounts", 6), readOnly.Evidence);
        Assert.True(facts.Filesystems[0].ReadOnly);
    }

    [Fact]
    public async Task Collect_TimeSyncServiceReportsUnsynchronised_RaisesClockUnsynced()
    {
        using var root = HealthyNode().File("/proc/77/comm", "chronyd\n");

        var (observations, facts, _) = await CollectAsync(root, usage: Usage(50, 50), clock: new KernelClockState(Unsynchronized: true, 16_000_000));

        Assert.Equal("CLOCK_UNSYNCED", Assert.Single(observations).Code);
        Assert.Equal("unsynchronized", facts.TimeSync!.State);
        Assert.Equal("chronyd", facts.TimeSync.Service);
    }

    [Fact]
    public async Task Collect_NoTimeSyncServiceAndUnsyncedKernelClock_IsAnUnknownFactNotAFinding()
    {
        using var root = HealthyNode();

        var (observations, facts, _) = await CollectAsync(root, usage: Usage(50, 50), clock: new KernelClockState(Unsynchronized: true, 16_000_000));

        Assert.Empty(observations);
        Assert.Equal("unknown", facts.TimeSync!.State);
        Assert.Null(facts.TimeSync.Service);
    }

    [Fact]
    public async Task Collect_OfflineReplay_MeasuresNeitherDisksNorTheKernelClock()
    {
        using var root = HealthyNode().File("/proc/77/comm", "chronyd\n");

        var (observations, facts, _) = await CollectAsync(root, usage: Usage(1, 1), clock: new KernelClockState(true, 1), offline: true);

        Assert.Empty(observations);
        Assert.All(facts.Filesystems, f => Assert.Null(f.SizeBytes));
        Assert.Equal("unknown", facts.TimeSync!.State);
    }

    [Fact]
    public async Task Collect_MissingProcFilesAndGarbage_IsPartialAndNamesWhatWasMissing()
    {
        using var root = new NodeRoot()
            .File("/etc/os-release", "PRETTY_NAME=\"X\"\n")
            .File("/proc/loadavg", "\u0000\u0001 not numbers at all\n")
            .File("/proc/meminfo", "garbage\nMemTotal: lots kB\n");

        var (observations, facts, output) = await CollectAsync(root, usage: null);

        Assert.Empty(observations);
        Assert.Equal(CollectorStatus.Partial, output.Status);
        Assert.Contains("/proc/mounts is missing", output.Error, StringComparison.Ordinal);
        Assert.Contains("MemAvailable", output.Error, StringComparison.Ordinal);
        Assert.Null(facts.Load);
        Assert.Equal("missing", facts.Unavailable!["/proc/uptime"]);
    }

    private const string Mounts = """
        overlay / overlay rw,relatime 0 0
        proc /proc proc rw,nosuid 0 0
        sysfs /sys sysfs ro,nosuid 0 0
        /dev/sda1 /var ext4 rw,relatime 0 0
        tmpfs /run tmpfs rw,nosuid 0 0

        """;

    private static NodeRoot HealthyNode() => new NodeRoot()
        .File("/etc/os-release", "PRETTY_NAME=\"Ubuntu 22.04.5 LTS\"\nID=ubuntu\nVERSION_ID=\"22.04\"\n")
        .File("/proc/sys/kernel/osrelease", "5.15.0-1074-azure\n")
        .File("/proc/sys/kernel/pid_max", "32768\n")
        .File("/proc/sys/kernel/threads-max", "255000\n")
        .File("/proc/sys/net/netfilter/nf_conntrack_count", "2048\n")
        .File("/proc/sys/net/netfilter/nf_conntrack_max", "131072\n")
        .File("/proc/uptime", "86400.50 170000.10\n")
        .File("/proc/stat", "btime 1763632800\n")
        .File("/proc/loadavg", "0.52 0.61 0.70 3/812 98765\n")
        .File("/proc/meminfo", "MemTotal:       16000000 kB\nMemFree:          123456 kB\nMemAvailable:   12000000 kB\n")
        .File("/proc/pressure/memory", "some avg10=1.50 avg60=0.80 avg300=0.20 total=987654\nfull avg10=0.50 avg60=0.20 avg300=0.05 total=12345\n")
        .File("/proc/mounts", Mounts)
        .Dir("/var/lib/kubelet").Dir("/var/lib/containerd").Dir("/var/log");

    private static FileSystemUsage Usage(double availablePercent, double inodesFreePercent)
        => new(100_000_000_000, (long)(availablePercent * 1_000_000_000), 6_000_000, (long)(inodesFreePercent * 60_000));

    private static async Task<(IReadOnlyList<Observation> Observations, SystemFacts Facts, CollectorResult Result)> CollectAsync(
        NodeRoot root, FileSystemUsage? usage, KernelClockState? clock = null, bool offline = false)
    {
        var collector = new SystemCollector(Options.Create(new SystemCollectorOptions()), new FixedClock(clock), NullLogger<SystemCollector>.Instance);
        var result = await CollectorHarness.RunAsync(collector, new FixedUsageFileSystem(new HostRoot(root.Path), usage), offline: offline);
        return (result.Observations, (SystemFacts)result.Facts!, result);
    }

    /// <summary>A fake kernel clock: what adjtimex would say.</summary>
    private sealed class FixedClock(KernelClockState? state) : IKernelClock
    {
        public KernelClockState? Read(out string? error)
        {
            error = state is null ? "no clock in this test" : null;
            return state;
        }
    }

    /// <summary>The real host root, with statvfs answers fixed by the test (a full disk cannot be made here).</summary>
    private sealed class FixedUsageFileSystem(INodeFileSystem inner, FileSystemUsage? usage) : INodeFileSystem
    {
        public string Root => inner.Root;
        public string Resolve(string nodePath) => inner.Resolve(nodePath);
        public string ToNodePath(string realPath) => inner.ToNodePath(realPath);
        public bool FileExists(string nodePath) => inner.FileExists(nodePath);
        public bool DirectoryExists(string nodePath) => inner.DirectoryExists(nodePath);
        public bool IsCharacterDevice(string nodePath) => inner.IsCharacterDevice(nodePath);
        public Stream OpenRead(string nodePath) => inner.OpenRead(nodePath);
        public Microsoft.Win32.SafeHandles.SafeFileHandle OpenCharacterDevice(string nodePath) => inner.OpenCharacterDevice(nodePath);
        public Task<string?> TryReadTextAsync(string nodePath, int maxBytes, CancellationToken cancellationToken) => inner.TryReadTextAsync(nodePath, maxBytes, cancellationToken);
        public IReadOnlyList<string> ListDirectory(string nodePath) => inner.ListDirectory(nodePath);

        public FileSystemUsage? GetUsage(string nodePath, out string? problem)
        {
            problem = usage is null ? "no usage in this test" : null;
            return usage;
        }
    }
}
