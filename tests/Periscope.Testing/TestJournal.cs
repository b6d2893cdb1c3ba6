using System.Globalization;
using System.Text;
using Xunit;

namespace Periscope.Testing;

/// <summary>
/// Builds real journal files from export-format text with Debian's systemd-journal-remote (journald itself does not
/// run here), so that journalctl reads them like a node's.
/// </summary>
public static class TestJournal
{
    public const string JournalRemote = "/lib/systemd/systemd-journal-remote";
    public const string MachineId = "0123456789abcdef0123456789abcdef";

    /// <summary>One journal entry in export format.</summary>
    public static string Entry(long unixSeconds, string message, string transport = "journal", int facility = 3, int priority = 6, string? unit = null, string? bootId = null)
    {
        var entry = new StringBuilder();
        entry.Append(CultureInfo.InvariantCulture, $"__REALTIME_TIMESTAMP={unixSeconds * 1_000_000}\n");
        entry.Append(CultureInfo.InvariantCulture, $"__MONOTONIC_TIMESTAMP={unixSeconds % 100_000 * 1_000_000}\n");
        entry.Append(CultureInfo.InvariantCulture, $"_BOOT_ID={bootId ?? MachineId}\n_TRANSPORT={transport}\nSYSLOG_FACILITY={facility}\nPRIORITY={priority}\n");
        if (unit is not null)
        {
            entry.Append(CultureInfo.InvariantCulture, $"_SYSTEMD_UNIT={unit}\n");
        }

        entry.Append(CultureInfo.InvariantCulture, $"MESSAGE={message}\n_HOSTNAME=test-node\n\n");
        return entry.ToString();
    }

    /// <summary>Writes <c>&lt;root&gt;/var/log/journal/&lt;machine-id&gt;/system.journal</c> holding the entries.</summary>
    public static async Task WriteAsync(NodeRoot root, params string[] entries)
    {
        ArgumentNullException.ThrowIfNull(root);
        Requires.Tool("journalctl");
        Requires.That(File.Exists(JournalRemote), $"{JournalRemote} is not installed (Debian package systemd-journal-remote)");
        var directory = root.Real($"/var/log/journal/{MachineId}");
        Directory.CreateDirectory(directory);
        var export = Path.Combine(root.Path, "journal-export.txt");
        await File.WriteAllTextAsync(export, string.Concat(entries));
        var built = await TestProcess.RunAsync(JournalRemote, "-o", Path.Combine(directory, "system.journal"), export);
        File.Delete(export);
        Assert.True(built.ExitCode == 0, $"systemd-journal-remote failed: {built.Stderr}");
    }
}
