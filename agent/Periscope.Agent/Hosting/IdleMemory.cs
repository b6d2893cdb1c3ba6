using System.Globalization;
using System.Runtime.InteropServices;

namespace Periscope.Agent.Hosting;

/// <summary>
/// What the agent gives back to the node while it waits between runs — which is nearly all of its life, on every node
/// of the cluster. The GC heap is compacted and its free memory returned; and the pages of the agent's own binary
/// that start-up and the run touched (about 20 MiB of code and read-only data) are paged out with
/// <c>madvise(MADV_PAGEOUT)</c>: clean file pages, dropped without any write, read back from the file on the next
/// run's first use (a few milliseconds). Only read-only mappings of the agent's own executable are advised: never
/// the heap, never a writable mapping, never a shared library other processes map.
/// </summary>
internal static partial class IdleMemory
{
    private const int MadvCold = 20; // Linux 5.4: deactivate, reclaimed first under pressure
    private const int MadvPageout = 21; // Linux 5.4: reclaim now

    /// <summary>Compacts the heap, then pages out the binary's read-only mappings; returns the bytes advised.</summary>
    public static long Release()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return PageOutOwnBinary();
    }

    /// <summary>
    /// Advises MADV_PAGEOUT (MADV_COLD where the kernel has no PAGEOUT) on every read-only mapping of the executable
    /// named in <c>/proc/self/maps</c>. Best effort: a kernel without either, or an unreadable maps file, changes nothing.
    /// </summary>
    internal static long PageOutOwnBinary()
    {
        string executable;
        string[] maps;
        try
        {
            executable = Environment.ProcessPath ?? string.Empty;
            maps = File.ReadAllLines("/proc/self/maps");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        long advised = 0;
        foreach (var mapping in Mappings(maps, executable))
        {
            if (Madvise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), MadvPageout) == 0
                || (Marshal.GetLastPInvokeError() == 22 /* EINVAL: no MADV_PAGEOUT */ && Madvise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), MadvCold) == 0))
            {
                advised += mapping.End - mapping.Start;
            }
        }

        return advised;
    }

    /// <summary>The read-only (not writable) mappings of <paramref name="executable"/> in a <c>/proc/PID/maps</c> listing.</summary>
    internal static IEnumerable<(long Start, long End)> Mappings(IEnumerable<string> maps, string executable)
    {
        if (string.IsNullOrEmpty(executable))
        {
            yield break;
        }

        foreach (var line in maps)
        {
            // start-end perms offset dev inode path
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[1].Length < 4 || fields[1][1] == 'w' || !string.Equals(fields[5].Trim(), executable, StringComparison.Ordinal))
            {
                continue;
            }

            var dash = fields[0].IndexOf('-', StringComparison.Ordinal);
            if (dash > 0
                && long.TryParse(fields[0].AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
                && long.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end)
                && end > start)
            {
                yield return (start, end);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
