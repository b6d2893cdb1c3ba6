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
        Assert.StartsWith("journalctl --directory=", command.CommandLine, StringComparison.Ordinal);
    }
}
