using System.Globalization;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.System;
using Periscope.Agent.Collectors.System.Rules;
using Periscope.Bundle;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.System;

/// <summary>
/// Each of the system collector's finding rules on its figures alone: silent on the good side of its threshold, and
/// on the other side one observation with its code, severity, subject, figures, evidence and the run clock's time.
/// </summary>
public sealed class SystemRuleTests() : RuleTests("system")
{
    private readonly SystemCollectorOptions _options = new();

    [Fact]
    public void MemoryPressure_BelowTheThreshold_IsCriticalOnTheNodeWithTheMeminfoLine()
    {
        var threshold = _options.MemoryAvailableThresholdBytes;

        var at = MemoryPressureRule.Check(Context, (threshold, 3), (8L << 30, 1), _options);
        var below = MemoryPressureRule.Check(Context, (threshold - 1, 3), (8L << 30, 1), _options);

        Assert.Null(at);
        Assert.NotNull(below);
        Assert.Equal(FindingCodes.MemoryPressure, below.Code);
        Assert.Equal(Severity.Critical, below.Severity);
        Assert.Equal(new FindingSubject(SubjectKind.Node, "node-7"), below.Subject);
        Assert.Equal(new EvidenceReference("system/meminfo", 3), below.Evidence);
        Assert.Equal((threshold - 1).ToString(CultureInfo.InvariantCulture), below.Attributes["availableBytes"]);
        Assert.Equal((8L << 30).ToString(CultureInfo.InvariantCulture), below.Attributes["totalBytes"]);
        Assert.Equal(Now, below.Time);
    }

    [Fact]
    public void PidPressure_FewerIdsLeftThanTheThreshold_NamesUseAndLimit()
    {
        Assert.Null(PidPressureRule.Check(Context, inUse: 900, limit: 1000, _options)); // 10 % left: not below 10 %

        var observation = PidPressureRule.Check(Context, inUse: 901, limit: 1000, _options);

        Assert.NotNull(observation);
        Assert.Equal(FindingCodes.PidPressure, observation.Code);
        Assert.Equal(Severity.Critical, observation.Severity);
        Assert.Equal("901", observation.Attributes["inUse"]);
        Assert.Equal("1000", observation.Attributes["limit"]);
        Assert.Contains("901 of 1000 process ids in use", observation.Detail, StringComparison.Ordinal);
        Assert.Equal(new EvidenceReference("system/loadavg", 1), observation.Evidence);
    }

    [Fact]
    public void ConntrackNearLimit_AtTheThreshold_IsAWarning()
    {
        Assert.Null(ConntrackNearLimitRule.Check(Context, count: 899, max: 1000, _options));

        var observation = ConntrackNearLimitRule.Check(Context, count: 900, max: 1000, _options);

        Assert.NotNull(observation);
        Assert.Equal(FindingCodes.ConntrackNearLimit, observation.Code);
        Assert.Equal(Severity.Warning, observation.Severity);
        Assert.Equal("900", observation.Attributes["count"]);
        Assert.Equal("1000", observation.Attributes["max"]);
    }

    [Fact]
    public void ReadOnlyMount_OnlyForAnExistingDirectoryOnAReadOnlyMount_NamesTheMount()
    {
        var readOnly = new ProcParsers.MountEntry("/dev/sdb1", "/var/lib/kubelet", "ext4", ["ro", "relatime"], 12);
        var readWrite = readOnly with { Options = ["rw"] };

        Assert.Null(ReadOnlyMountRule.Check(Context, "/var/lib/kubelet", "nodefs", exists: true, readWrite));
        Assert.Null(ReadOnlyMountRule.Check(Context, "/var/lib/kubelet", "nodefs", exists: false, readOnly));
        Assert.Null(ReadOnlyMountRule.Check(Context, "/var/lib/kubelet", "nodefs", exists: true, mount: null));
        var observation = ReadOnlyMountRule.Check(Context, "/var/lib/kubelet", "nodefs", exists: true, readOnly);

        Assert.NotNull(observation);
        Assert.Equal(FindingCodes.FsReadOnlyMount, observation.Code);
        Assert.Equal(new FindingSubject(SubjectKind.File, "/var/lib/kubelet"), observation.Subject);
        Assert.Equal("/dev/sdb1", observation.Attributes["device"]);
        Assert.Equal(new EvidenceReference("system/mounts", 12), observation.Evidence);
    }

    [Fact]
    public void DiskPressure_BelowTheRolesThreshold_NamesTheFilesystemAndItsFigures()
    {
        var tenPercentFree = new FileSystemUsage(SizeBytes: 1000, AvailableBytes: 100, Inodes: 0, InodesFree: 0);
        var justBelow = tenPercentFree with { AvailableBytes = 99 };

        Assert.Null(DiskPressureRule.Check(Context, "/var/lib/kubelet", "nodefs", "/", tenPercentFree, _options.NodeFsAvailableThresholdPercent));
        var observation = DiskPressureRule.Check(Context, "/var/lib/kubelet", "nodefs", "/", justBelow, _options.NodeFsAvailableThresholdPercent);

        Assert.NotNull(observation);
        Assert.Equal(FindingCodes.DiskPressure, observation.Code);
        Assert.Equal(new FindingSubject(SubjectKind.File, "/"), observation.Subject);
        Assert.Equal("99", observation.Attributes["availableBytes"]);
        Assert.Equal("1000", observation.Attributes["sizeBytes"]);
        Assert.Equal("nodefs", observation.Attributes["role"]);
        Assert.Equal(new EvidenceReference("system/filesystems.txt", null), observation.Evidence);
    }

    [Fact]
    public void InodePressure_BelowTheThreshold_ButNeverForAFilesystemWithoutAnInodeTable()
    {
        var noTable = new FileSystemUsage(1000, 500, Inodes: 0, InodesFree: 0);
        var fivePercent = new FileSystemUsage(1000, 500, Inodes: 1000, InodesFree: 50);

        Assert.Null(InodePressureRule.Check(Context, "/var/log", "logs", "/var", noTable, _options));
        Assert.Null(InodePressureRule.Check(Context, "/var/log", "logs", "/var", fivePercent, _options));
        var observation = InodePressureRule.Check(Context, "/var/log", "logs", "/var", fivePercent with { InodesFree = 49 }, _options);

        Assert.NotNull(observation);
        Assert.Equal(FindingCodes.InodePressure, observation.Code);
        Assert.Equal("49", observation.Attributes["inodesFree"]);
        Assert.Equal("1000", observation.Attributes["inodes"]);
    }

    [Fact]
    public void ClockUnsynced_OnlyWhenTheKernelSaysSo_CarriesTheServiceAndItsError()
    {
        Assert.Null(ClockUnsyncedRule.Check(Context, "chronyd", new KernelClockState(false, 500), "detail"));

        var observation = ClockUnsyncedRule.Check(Context, "chronyd", new KernelClockState(true, 16000000), "chronyd is running");

        Assert.NotNull(observation);
        Assert.Equal(FindingCodes.ClockUnsynced, observation.Code);
        Assert.Equal(Severity.Warning, observation.Severity);
        Assert.Equal("chronyd", observation.Attributes["service"]);
        Assert.Equal("16000000", observation.Attributes["maxErrorMicroseconds"]);
        Assert.Equal("chronyd is running; estimated maximum error 16000000 µs.", observation.Detail);
        Assert.Null(observation.Evidence);
        Assert.Equal(Now, observation.Time);
    }
}
