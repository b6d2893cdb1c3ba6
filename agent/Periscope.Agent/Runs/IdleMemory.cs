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
/// Between the signal loop's passes (<see cref="ReleaseBetweenPasses"/>) what a pass touched is given back as well,
/// without the page-out: paging the binary out every few seconds would read it back from disk every pass.
/// </summary>
internal static partial class IdleMemory
{
    private const int MadvNormal = 0;
    private const int MadvRandom = 1;
    private const int MadvDontneed = 4;
    private const int MadvCold = 20; // Linux 5.4: deactivate, reclaimed first under pressure
    private const int MadvPageout = 21; // Linux 5.4: reclaim now

    /// <summary>Compacts the heap, then pages out the read-only file mappings; returns the bytes advised.</summary>
    public static long Release()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return PageOutFileMappings();
    }

    /// <summary>
    /// Between two passes of the signal loop: the heap compacted and its free memory returned, as after a run (a pass
    /// allocates a little, and without this its garbage would stay resident in gen0 until a collection long after),
    /// and the file pages the pass faulted in unmapped from the process (<see cref="Unmap"/>) but left in the page
    /// cache, so that the next pass maps them again without reading the disk. Returns the bytes unmapped.
    /// </summary>
    public static long ReleaseBetweenPasses()
    {
        // Read before the collection: the listing's own strings are garbage it takes too.
        var clean = CleanMappings(ReadLines("/proc/self/smaps"), Environment.ProcessPath).ToList();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return Unmap(clean);
    }

    /// <summary>
    /// MADV_COLD (reclaimed first under pressure), then MADV_DONTNEED, on these mappings: their pages leave the
    /// process (and its resident size) and stay in the page cache. Safe only on mappings that hold nothing but the
    /// file's own pages — DONTNEED discards a private page a mapping holds, and the next access reads the file again —
    /// which is what <see cref="CleanMappings"/> returns. Returns the bytes advised.
    /// </summary>
    internal static long Unmap(IEnumerable<(long Start, long End)> mappings)
    {
        long unmapped = 0;
        foreach (var (start, end) in mappings)
        {
            _ = Madvise((nint)start, (nuint)(end - start), MadvCold);
            if (Madvise((nint)start, (nuint)(end - start), MadvDontneed) == 0)
            {
                unmapped += end - start;
            }
        }

        return unmapped;
    }

    /// <summary>
    /// From a <c>/proc/PID/smaps</c> listing: the mappings <see cref="Mappings"/> takes (read-only, of the executable
    /// or a system library) that hold no private page — no anonymous page (a relocated, then write-protected, RELRO
    /// page is one), none swapped out, none dirty. Only their pages can be dropped and read back unchanged.
    /// </summary>
    internal static IEnumerable<(long Start, long End)> CleanMappings(IEnumerable<string> smaps, string? executable)
    {
        var clean = new List<string>();
        string? header = null;
        var isPrivate = false;
        foreach (var line in smaps)
        {
            if (IsMappingLine(line))
            {
                if (header is not null && !isPrivate)
                {
                    clean.Add(header);
                }

                header = line;
                isPrivate = false;
            }
            else if (line.StartsWith("Anonymous:", StringComparison.Ordinal) || line.StartsWith("Swap:", StringComparison.Ordinal)
                || line.StartsWith("Private_Dirty:", StringComparison.Ordinal) || line.StartsWith("Shared_Dirty:", StringComparison.Ordinal))
            {
                // "Name:   <n> kB"; anything but a plain 0 (or a line we cannot read) counts as private.
                var value = line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim();
                isPrivate |= !value.SequenceEqual("0 kB");
            }
        }

        if (header is not null && !isPrivate)
        {
            clean.Add(header);
        }

        return Mappings(clean, executable);
    }

    /// <summary>A mapping's first line in smaps (<c>start-end perms …</c>), not one of its <c>Name: value</c> lines.</summary>
    private static bool IsMappingLine(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        var dash = line.IndexOf('-', StringComparison.Ordinal);
        return space > 0 && dash > 0 && dash < space && line.AsSpan(0, space).IndexOf(':') < 0;
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

    private static string[] ReadMaps() => ReadLines("/proc/self/maps");

    private static string[] ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
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
