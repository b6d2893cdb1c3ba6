using System.Text.Json;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// After a reboot the kernel's buffer holds only the new boot: the previous boot's kernel messages (an OOM kill, a
/// lockup, the reason the node went down) are read from the persistent journal, classified like the current boot's
/// and kept in <c>kernel/previous-boot.log</c>. Journal files built by systemd-journal-remote; the current boot's
/// records from a captured /dev/kmsg.
/// </summary>
public sealed class PreviousBootTests
{
    private const string PreviousBoot = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string CurrentBoot = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private const long Reboot = 1763640000; // 2025-11-20T12:00:00Z, inside the fixture window

    private static NodeRoot Rebooted(bool knowsItsBootId = true)
    {
        var root = new NodeRoot()
            .File("/etc/hostname", "rebooted-node\n")
            .File("/proc/stat", $"cpu  1 2 3 4\nbtime {Reboot}\n")
            .File("/dev/kmsg", "6,1,1000000,-;Linux version 6.1.0-test (current boot)\n6,2,2000000,-;EXT4-fs (sda1): mounted filesystem\n");
        return knowsItsBootId ? root.File("/proc/sys/kernel/random/boot_id", "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb\n") : root;
    }

    private static async Task<(int Exit, JsonElement Result, BundleReader Bundle, string Stderr)> CollectAsync(NodeRoot root, TempDirectory store)
    {
        var (exit, stdout, stderr) = await CliRunner.AgentAsync("collect", "--host-root", root.Path, "--offline", "--collectors", "kernel",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--json");
        var result = JsonDocument.Parse(stdout).RootElement.Clone();
        return (exit, result, BundleReader.Open(File.OpenRead(result.GetProperty("bundle").GetString()!)), stderr);
    }

    [Theory]
    [InlineData(true)] // the current boot's id is known (a live node): the boot before it
    [InlineData(false)] // a replay without it: the newest boot is taken as the current one
    public async Task Collect_KernelBufferAfterAReboot_ClassifiesThePreviousBootFromTheJournal(bool knowsItsBootId)
    {
        using var root = Rebooted(knowsItsBootId);
        await TestJournal.WriteAsync(root,
            TestJournal.Entry(Reboot - 7200, "Linux version 6.1.0-test (previous boot)", transport: "kernel", facility: 0, priority: 5, bootId: PreviousBoot),
            TestJournal.Entry(Reboot - 120, "stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=939", transport: "kernel", facility: 0, priority: 4, bootId: PreviousBoot),
            TestJournal.Entry(Reboot - 119, "Out of memory: Killed process 4242 (stress) total-vm:1052000kB, anon-rss:524288kB, file-rss:1024kB, shmem-rss:0kB, UID:0 pgtables:1100kB oom_score_adj:939", transport: "kernel", facility: 0, priority: 3, bootId: PreviousBoot),
            TestJournal.Entry(Reboot - 100, "kubelet started", unit: "kubelet.service", bootId: PreviousBoot), // not the kernel's
            TestJournal.Entry(Reboot + 1, "Linux version 6.1.0-test (current boot)", transport: "kernel", facility: 0, priority: 5, bootId: CurrentBoot));
        using var store = new TempDirectory();

        var (exit, result, bundle, stderr) = await CollectAsync(root, store);
        using var _ = bundle;

        Assert.True(exit == 2, stderr + result);
        var facts = bundle.ReadFacts().Kernel!;
        Assert.Equal("kmsg-file", facts.Source);
        Assert.Equal(2, facts.Records);
        var previous = facts.PreviousBoot!;
        Assert.Equal(("journal", PreviousBoot, 3L), (previous.Source, previous.BootId, previous.Records));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(Reboot - 100), previous.LastEntry);
        Assert.Null(previous.Error);
        var oom = Assert.Single(bundle.ReadFindings().Findings, f => f.Code == "KERNEL_OOM_KILL");
        Assert.Equal("previous", oom.Attributes!["boot"]);
        var reference = Assert.Single(oom.Evidence!);
        Assert.Equal("kernel/previous-boot.log", reference.File);
        Assert.Contains(PreviousBoot, oom.Detail, StringComparison.Ordinal);
        using var evidence = new StreamReader(bundle.OpenEntry("kernel/previous-boot.log"));
        var lines = (await evidence.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("Killed process 4242", lines[(int)reference.Line!.Value - 1], StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains("current boot", StringComparison.Ordinal) || l.Contains("kubelet started", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Collect_JournalWithTheCurrentBootOnly_SaysSo_AndTheCollectorIsNotPartial()
    {
        using var root = Rebooted();
        await TestJournal.WriteAsync(root,
            TestJournal.Entry(Reboot + 1, "Linux version 6.1.0-test (current boot)", transport: "kernel", facility: 0, priority: 5, bootId: CurrentBoot));
        using var store = new TempDirectory();

        var (exit, result, bundle, stderr) = await CollectAsync(root, store);
        using var _ = bundle;

        Assert.True(exit == 0, stderr + result);
        var previous = bundle.ReadFacts().Kernel!.PreviousBoot!;
        Assert.Equal("none", previous.Source);
        Assert.Contains("no boot before the current one", previous.Error, StringComparison.Ordinal);
        var kernel = bundle.Manifest.Collectors.Single(c => c.Name == "kernel");
        Assert.Equal(CollectorStatus.Ok, kernel.Status);
        Assert.DoesNotContain(kernel.Files, f => f.Path == "kernel/previous-boot.log");
    }

    [Fact]
    public async Task Collect_NoPersistentJournal_SaysWhyNoEarlierBootWasRead()
    {
        using var root = Rebooted();
        using var store = new TempDirectory();

        var (exit, result, bundle, stderr) = await CollectAsync(root, store);
        using var _ = bundle;

        Assert.True(exit == 0, stderr + result);
        var previous = bundle.ReadFacts().Kernel!.PreviousBoot!;
        Assert.Equal("none", previous.Source);
        Assert.Contains("no persistent journal", previous.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseBoots_IsOldestFirst_AndIgnoresWhatIsNotABoot()
    {
        var json = """[{"index":0,"boot_id":"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB","first_entry":20,"last_entry":30},{"index":-1,"boot_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","first_entry":1,"last_entry":10},{"boot_id":"short","first_entry":1,"last_entry":2},{"boot_id":"cccccccccccccccccccccccccccccccc","first_entry":5,"last_entry":4}]"""u8;

        var boots = Periscope.Agent.Collection.HostJournal.ParseBoots(json)!;

        Assert.Equal(["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], boots.Select(b => b.BootId));
        Assert.Null(Periscope.Agent.Collection.HostJournal.ParseBoots("not json"u8));
        Assert.Null(Periscope.Agent.Collection.HostJournal.ParseBoots("{}"u8));
    }
}
