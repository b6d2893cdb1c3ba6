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
    private const string JournalRemote = "/lib/systemd/systemd-journal-remote";

    [Fact]
    public async Task Collect_NoKmsgNoKernLog_ReadsKernelEntriesFromTheJournal()
    {
        Requires.Tool("journalctl");
        Requires.That(File.Exists(JournalRemote), $"{JournalRemote} is not installed (Debian package systemd-journal-remote)");
        using var root = new NodeRoot().File("/etc/hostname", "journal-node\n").Dir("/var/log/journal/0123456789abcdef0123456789abcdef");
        var export = root.Real("/tmp/export.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(export)!);
        await File.WriteAllTextAsync(export,
            Entry(1763632800, "kernel", 0, 2, "EXT4-fs error (device sda1): ext4_lookup:1: bad inode") +
            Entry(1763632801, "syslog", 3, 6, "Out of memory: Killed process 1 (pretend)") +   // not the kernel's: never classified
            Entry(1763632802, "kernel", 0, 3, "blk_update_request: I/O error, dev sda, sector 8 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0"));
        var built = await TestProcess.RunAsync(JournalRemote, "-o", root.Real("/var/log/journal/0123456789abcdef0123456789abcdef/system.journal"), export);
        Assert.True(built.ExitCode == 0, built.Stderr);
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

    private static string Entry(long seconds, string transport, int facility, int priority, string message)
        => $"__REALTIME_TIMESTAMP={seconds * 1_000_000}\n__MONOTONIC_TIMESTAMP={seconds % 100_000 * 1_000_000}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n" +
           $"_TRANSPORT={transport}\nSYSLOG_FACILITY={facility}\nPRIORITY={priority}\nMESSAGE={message}\n_HOSTNAME=journal-node\n\n";
}
