using System.Globalization;
using System.Runtime.InteropServices;

namespace Periscope.Agent.Runs;

/// <summary>
/// What the agent gives back to the node while it waits between runs — which is nearly all of its life, on every node
/// of the cluster. The GC heap is compacted and its free memory returned; and the file pages that start-up and the
/// run touched — the agent's own binary (about 20 MiB of code and read-only data) and the libraries it loaded (in its
/// container, OpenSSL alone is 4 MiB once the API watch has made its TLS connection) — are paged out with
/// <c>madvise(MADV_PAGEOUT)</c>: clean file pages, dropped without any write, read back from the file on their next
/// use (a few milliseconds). Only read-only mappings of the executable and of the system's shared libraries (under
/// /lib, /lib64, /usr/lib, /usr/lib64) are advised: never the heap, never a writable mapping, never a memfd, a device
/// or another file. A page another process also maps (a host's libc) is left alone by the kernel.
/// While idle those mappings are also advised MADV_RANDOM: the signal loop's checks run every few seconds and fault
/// back the pages they use, and without it each such fault reads ahead and maps the pages around it (measured: 12 MiB
/// of the binary resident with the loop on against 6 MiB off; 8 MiB with the advice). A run sets the advice back to
/// normal (<see cref="Resume()"/>) so that it pages its code in with read-ahead.
/// </summary>
internal static partial class IdleMemory
{
    private const int MadvNormal = 0;
    private const int MadvRandom = 1;
    private const int MadvCold = 20; // Linux 5.4: deactivate, reclaimed first under pressure
    private const int MadvPageout = 21; // Linux 5.4: reclaim now

    /// <summary>Compacts the heap, then pages out the read-only file mappings; returns the bytes advised.</summary>
    public static long Release()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return PageOutFileMappings();
    }

    /// <summary>Before a run: the file mappings are read ahead again on faults (undoes the idle MADV_RANDOM).</summary>
    public static void Resume() => Resume(Mappings(ReadMaps(), Environment.ProcessPath));

    /// <summary>MADV_NORMAL on these mappings.</summary>
    internal static void Resume(IEnumerable<(long Start, long End)> mappings)
    {
        foreach (var mapping in mappings)
        {
            _ = Madvise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), MadvNormal);
        }
    }

    /// <summary>
    /// Advises MADV_PAGEOUT (MADV_COLD where the kernel has no PAGEOUT), then MADV_RANDOM, on every read-only mapping
    /// of a regular file named in <c>/proc/self/maps</c>. Best effort: a kernel without them, or an unreadable maps
    /// file, changes nothing.
    /// </summary>
    internal static long PageOutFileMappings() => PageOut(Mappings(ReadMaps(), Environment.ProcessPath));

    /// <summary>MADV_PAGEOUT (or MADV_COLD), then MADV_RANDOM, on these mappings; returns the bytes paged out.</summary>
    internal static long PageOut(IEnumerable<(long Start, long End)> mappings)
    {
        long advised = 0;
        foreach (var mapping in mappings)
        {
            if (Madvise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), MadvPageout) == 0
                || (Marshal.GetLastPInvokeError() == 22 /* EINVAL: no MADV_PAGEOUT */ && Madvise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), MadvCold) == 0))
            {
                advised += mapping.End - mapping.Start;
            }

            _ = Madvise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), MadvRandom);
        }

        return advised;
    }

    private static string[] ReadMaps()
    {
        try
        {
            return File.ReadAllLines("/proc/self/maps");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static readonly string[] LibraryDirectories = ["/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/"];

    /// <summary>
    /// The read-only (not writable) mappings of <paramref name="executable"/> and of shared libraries under the
    /// system's library directories in a <c>/proc/PID/maps</c> listing; not anonymous memory, a deleted file, a memfd,
    /// a device or another file.
    /// </summary>
    internal static IEnumerable<(long Start, long End)> Mappings(IEnumerable<string> maps, string? executable)
    {
        foreach (var line in maps)
        {
            // start-end perms offset dev inode path
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[1].Length < 4 || fields[1][1] == 'w')
            {
                continue;
            }

            var path = fields[5].Trim();
            var library = LibraryDirectories.Any(d => path.StartsWith(d, StringComparison.Ordinal)) && path.Contains(".so", StringComparison.Ordinal);
            if (path.EndsWith(" (deleted)", StringComparison.Ordinal) || !(library || string.Equals(path, executable, StringComparison.Ordinal)))
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
