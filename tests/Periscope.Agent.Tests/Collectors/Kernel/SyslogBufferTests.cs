using System.Text.Json;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Kernel;

public sealed class SyslogBufferTests
{
    private static readonly DateTimeOffset Boot = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Accept_ReadAllText_PlacesRecordsInTimeClassifiesKernelOnesAndCountsUntimedOnes()
    {
        var analyzer = new KernelEventAnalyzer(KernelRules.Default, ContainerDirectory.Load(new HostRoot("/nonexistent-root")), "n", "kernel/kmsg.log");
        var evidence = new StringWriter();
        var sink = new KernelRecordSink(evidence, analyzer, DateTimeOffset.MinValue, DateTimeOffset.MaxValue);
        var stats = new KmsgReadStats();
        const string text = "<6>[    0.000000] Linux version 6.8.0-1015-azure\n"
            + "<3>[   12.000345] EXT4-fs error (device sda1): ext4_lookup:1851: inode #2: comm ls: deleted inode referenced: 1234\n"
            + "<14>[   13.500000] periscope-user-marker Out of memory: Killed process 1 (init)\n"
            + "<4>printk without a timestamp\n";

        SyslogBufferReader.Accept(text, Boot, sink, 1 << 20, stats);

        var lines = evidence.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("2026-12-01T00:00:12.000345Z", lines[1], StringComparison.Ordinal);
        Assert.Equal(1, sink.Unparsed);
        var findings = analyzer.Finish();
        Assert.Contains(findings, o => o.Code == "FS_EXT4_ERROR");
        Assert.DoesNotContain(findings, o => o.Code == "KERNEL_OOM_KILL"); // a user-facility record is never classified
    }

    [Theory]
    [InlineData("<6>[   12.000005] x", true, 12_000_005L)]
    [InlineData("<6>[1.000001]", true, 1_000_001L)]
    [InlineData("6>[1.000001] x", false, 0L)]
    [InlineData("<x>[1.000001] x", false, 0L)]
    [InlineData("<6>no timestamp", false, 0L)]
    public void TryParse_Lines(string line, bool parsed, long microseconds)
    {
        Assert.Equal(parsed, SyslogBufferReader.TryParse(line, out _, out var us, out _));
        Assert.Equal(microseconds, parsed ? us : 0L);
    }
}

/// <summary>
/// The kernel log without privilege, for real: the native agent runs as root with only CAP_SYSLOG in its capability
/// sets (as the DaemonSet's pod gives it) and no /dev/kmsg, and reads the machine's buffer by syslog(2); without
/// CAP_SYSLOG the reason is recorded and the next source taken. A uniquely marked line is written to /dev/kmsg first
/// (facility USER: read, never classified).
/// </summary>
[Collection(SerialHostTests.Name)]
public sealed class RealSyslogBufferTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task NativeAgent_OnlyCapSyslog_ReadsTheKernelBufferBySyslog2(bool withCapSyslog)
    {
        Requires.Root();
        var binary = Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        Requires.Tool("setpriv");
        Requires.That(File.ReadAllText("/proc/sys/kernel/dmesg_restrict").Trim() == "1" || withCapSyslog, "kernel.dmesg_restrict is 0: anyone may read the buffer, so its refusal cannot be shown");
        var marker = $"periscope-syslog-marker-{Guid.NewGuid():N}";
        await File.AppendAllTextAsync("/dev/kmsg", marker + "\n", TestContext.Current.CancellationToken);
        using var store = new TempDirectory();

        // Bounding set (and so permitted and effective, for uid 0) reduced to CAP_SYSLOG, or to nothing.
        var (exit, stdout, stderr) = await TestProcess.RunAsync("setpriv", withCapSyslog ? "--bounding-set=-all,+syslog" : "--bounding-set=-all",
            "--inh-caps=-all", "env", "Periscope__Collectors__Kernel__KmsgPath=/nonexistent/kmsg", "Periscope__Collectors__Kernel__KernLogPath=/nonexistent/kern.log",
            binary!, "collect", "--collectors", "kernel", "--since", "2h", "--out", store.Path, "--json");

        Assert.True(exit is 0 or 1 or 2, stderr + stdout);
        using var document = JsonDocument.Parse(stdout);
        using var reader = Periscope.Bundle.BundleReader.Open(File.OpenRead(document.RootElement.GetProperty("bundle").GetString()!));
        var facts = reader.ReadFacts().Kernel!;
        if (withCapSyslog)
        {
            Assert.Equal("syslog", facts.Source);
            using var kmsg = new StreamReader(reader.OpenEntry("kernel/kmsg.log"));
            Assert.Contains(marker, await kmsg.ReadToEndAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
            Assert.Equal(1, reader.Manifest.Collectors.Single(c => c.Name == "kernel").Counters!["recordsLostUncountable"]);
        }
        else
        {
            Assert.NotEqual("syslog", facts.Source);
            Assert.Contains(facts.SourceErrors, e => e.Contains("CAP_SYSLOG", StringComparison.Ordinal));
        }
    }
}
