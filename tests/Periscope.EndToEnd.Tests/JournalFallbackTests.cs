using System.Text.Json;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The kernel collector's last fallback: journalctl over the host root's journal directory. The journal file is
/// built here by Debian's systemd-journal-remote from export-format text (journald itself does not run here).
/// </summary>
public sealed class JournalFallbackTests
{
    [Fact]
    public async Task Collect_NoKmsgNoKernLog_ReadsKernelEntriesFromTheJournal()
    {
        using var root = new NodeRoot().File("/etc/hostname", "journal-node\n");
        await TestJournal.WriteAsync(root,
            TestJournal.Entry(1763632800, "EXT4-fs error (device sda1): ext4_lookup:1: bad inode", transport: "kernel", facility: 0, priority: 2),
            TestJournal.Entry(1763632801, "Out of memory: Killed process 1 (pretend)"), // not the kernel's: never classified
            TestJournal.Entry(1763632802, "blk_update_request: I/O error, dev sda, sector 8 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0", transport: "kernel", facility: 0, priority: 3));
        using var store = new TempDirectory();

        var (exit, stdout, stderr) = await CliRunner.AgentAsync("collect", "--host-root", root.Path, "--offline", "--collectors", "kernel",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--json");

        Assert.True(exit == 2, stderr + stdout);
        using var document = JsonDocument.Parse(stdout);
        var codes = document.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("code").GetString()).Order().ToList();
        Assert.Equal(["DISK_IO_ERROR", "FS_EXT4_ERROR"], codes);
        using var reader = Periscope.Bundle.BundleReader.Open(File.OpenRead(document.RootElement.GetProperty("bundle").GetString()!));
        Assert.Equal("journal", reader.ReadFacts().Kernel!.Source);
        var command = Assert.Single(reader.Manifest.Collectors.Single(c => c.Name == "kernel").Commands!);
        Assert.Equal("ok", command.Outcome);
        Assert.StartsWith("journalctl --file=/proc/self/fd/", command.CommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_JournalFileLinkedToOutsideTheRoot_IsNeverRead()
    {
        // A real journal outside the node root, and journal files inside it that are links to it (absolute, which is
        // re-rooted, and relative, which stops at the root) or a FIFO: none of them is read, the real one still is.
        using var outside = new NodeRoot();
        await TestJournal.WriteAsync(outside, TestJournal.Entry(1763632800, "EXT4-fs error (device sdz9): OUTSIDE-THE-ROOT", transport: "kernel", facility: 0, priority: 2));
        var outsideFile = outside.Real($"/var/log/journal/{TestJournal.MachineId}/system.journal");
        using var root = new NodeRoot().File("/etc/hostname", "journal-node\n");
        await TestJournal.WriteAsync(root, TestJournal.Entry(1763632801, "EXT4-fs error (device sda1): inside the root", transport: "kernel", facility: 0, priority: 2));
        var directory = root.Real($"/var/log/journal/{TestJournal.MachineId}");
        File.CreateSymbolicLink(Path.Combine(directory, "system@0001-absolute.journal"), outsideFile);
        File.CreateSymbolicLink(Path.Combine(directory, "system@0002-relative.journal"), "../../../../../../../../../../../.." + outsideFile);
        Directory.CreateDirectory(root.Real("/run/log"));
        Directory.CreateSymbolicLink(root.Real("/run/log/journal"), outside.Real("/var/log/journal")); // a whole journal directory linked out
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(directory, "user-1000.journal")]))
        {
            await mkfifo.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        using var store = new TempDirectory();

        var (exit, stdout, stderr) = await CliRunner.AgentAsync("collect", "--host-root", root.Path, "--offline", "--collectors", "kernel",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--json").WaitAsync(TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);

        Assert.True(exit == 2, stderr + stdout);
        Assert.DoesNotContain("OUTSIDE-THE-ROOT", stdout, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(stdout);
        using var reader = Periscope.Bundle.BundleReader.Open(File.OpenRead(document.RootElement.GetProperty("bundle").GetString()!));
        using var kmsg = new StreamReader(reader.OpenEntry("kernel/kmsg.log"));
        var text = await kmsg.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.Contains("inside the root", text, StringComparison.Ordinal);
        Assert.DoesNotContain("OUTSIDE-THE-ROOT", text, StringComparison.Ordinal);
    }
}
