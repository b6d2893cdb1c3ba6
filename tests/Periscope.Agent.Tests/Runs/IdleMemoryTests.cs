using Periscope.Agent.Hosting;
using Periscope.Agent.Runs;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Runs;

/// <summary>Which mappings the agent pages out between runs: its executable's and the system libraries', only those it cannot write.</summary>
public sealed class IdleMemoryTests
{
    [Fact]
    public void Mappings_AreTheExecutablesAndLibrariesReadOnlyOnes_NeverWritableAnonymousDeletedMemfdOrOtherFiles()
    {
        string[] maps =
        [
            "55d4c0a00000-55d4c0c00000 r--p 00000000 08:01 1234 /app/periscope-agent",
            "55d4c0c00000-55d4c1800000 r-xp 00200000 08:01 1234 /app/periscope-agent",
            "55d4c1800000-55d4c1900000 rw-p 00e00000 08:01 1234 /app/periscope-agent",
            "55d4c1900000-55d4c1a00000 rw-p 00000000 00:00 0 ",
            "7f0000000000-7f0000200000 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f0000200000-7f0000210000 r--p 00000000 08:01 1234 /app/periscope-agent-old (deleted)",
            "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]",
            "7f0000300000-7f0000310000 rw-p 00100000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f0000400000-7f0000410000 r-xp 00000000 00:01 5 /memfd:doublemapper (deleted)",
            "7f0000500000-7f0000501000 r--s 00000000 00:05 7 /dev/zero",
            "7ffd10000000-7ffd10002000 r-xp 00000000 00:00 0 [vdso]",
            "7f0000600000-7f0000700000 r--p 00000000 08:01 77 /usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.0/System.Private.CoreLib.dll",
            "7f0000700000-7f0000710000 r--p 00000000 08:01 78 /usr/lib/locale/C.utf8/LC_CTYPE",
            "garbage line",
            "7fff0000-7ffe0000 r--p 00000000 08:01 1234 /app/periscope-agent", // end before start
        ];

        var mappings = IdleMemory.Mappings(maps, "/app/periscope-agent").ToList();

        Assert.Equal([(0x55d4c0a00000L, 0x55d4c0c00000L), (0x55d4c0c00000L, 0x55d4c1800000L), (0x7f0000000000L, 0x7f0000200000L)], mappings);
    }

    [Fact]
    public void PageOutFileMappings_AdvisesTheReadOnlyFileMappings_AndTheProcessKeepsRunning()
    {
        var maps = File.ReadAllLines("/proc/self/maps");
        var executable = maps.Where(l => l.EndsWith(" " + Environment.ProcessPath, StringComparison.Ordinal) && l.Split(' ')[1][1] != 'w').ToList();

        var advised = IdleMemory.PageOutFileMappings();

        Assert.NotEmpty(executable);
        // At least the executable's read-only mappings (other threads of the test run may map more files meanwhile).
        Assert.True(advised >= IdleMemory.Mappings(executable, Environment.ProcessPath).Sum(m => m.End - m.Start), $"{advised} bytes advised");
        Assert.True(IdleMemory.PageOutFileMappings() > 0); // and again, with the code paged out a moment ago read back
    }

    [Fact]
    public void CleanMappings_AreTheReadOnlyOnesWithNoPrivatePage()
    {
        string[] smaps =
        [
            "55d4c0a00000-55d4c0c00000 r--p 00000000 08:01 1234 /app/periscope-agent",
            "Size:               2048 kB",
            "Rss:                 512 kB",
            "Private_Dirty:         0 kB",
            "Anonymous:             0 kB",
            "Swap:                  0 kB",
            "VmFlags: rd mr mw me sd",
            "55d4c0c00000-55d4c1800000 r-xp 00200000 08:01 1234 /app/periscope-agent",
            "Rss:                2048 kB",
            "Anonymous:             0 kB",
            "Swap:                  0 kB",
            "VmFlags: rd ex mr mw me sd",
            "55d4c1800000-55d4c1810000 r--p 00e00000 08:01 1234 /app/periscope-agent", // RELRO: relocated, then write-protected
            "Private_Dirty:        64 kB",
            "Anonymous:            64 kB",
            "Swap:                  0 kB",
            "7f0000000000-7f0000200000 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6",
            "Anonymous:             0 kB",
            "Swap:                  0 kB",
            "7f0000200000-7f0000204000 r--p 001f0000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6", // its private page swapped out
            "Anonymous:             0 kB",
            "Swap:                  4 kB",
            "7f0000300000-7f0000310000 rw-p 00100000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6",
            "Anonymous:             0 kB",
            "7f0000400000-7f0000410000 r-xp 00000000 08:01 5 /usr/lib/x86_64-linux-gnu/libssl.so.3", // a figure we cannot read
            "Anonymous:           n/a",
            "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]",
            "Anonymous:           132 kB",
        ];

        var clean = IdleMemory.CleanMappings(smaps, "/app/periscope-agent").ToList();

        Assert.Equal([(0x55d4c0a00000L, 0x55d4c0c00000L), (0x55d4c0c00000L, 0x55d4c1800000L), (0x7f0000000000L, 0x7f0000200000L)], clean);
    }

    [Fact]
    public void CleanMappings_OfThisProcess_ExcludeTheExecutablesRelroAndIncludeItsCode()
    {
        var smaps = File.ReadAllLines("/proc/self/smaps");
        var clean = IdleMemory.CleanMappings(smaps, Environment.ProcessPath).ToHashSet();
        var executable = IdleMemory.Mappings(File.ReadAllLines("/proc/self/maps").Where(l => l.EndsWith(" " + Environment.ProcessPath, StringComparison.Ordinal)), Environment.ProcessPath).ToList();

        Assert.Contains(executable, clean.Contains); // its code at least
        var blocks = Blocks(smaps);
        Assert.All(clean, mapping =>
        {
            var block = blocks[(mapping.Start, mapping.End)].Lines;
            Assert.Contains(block, l => l.StartsWith("Anonymous:", StringComparison.Ordinal));
            Assert.All(block.Where(l => l.StartsWith("Anonymous:", StringComparison.Ordinal) || l.StartsWith("Swap:", StringComparison.Ordinal)), l => Assert.EndsWith(" 0 kB", l, StringComparison.Ordinal));
        });
    }

    /// <summary>Each mapping in a smaps listing, by its range: its first line and the lines that follow it.</summary>
    private static Dictionary<(long Start, long End), (string Header, List<string> Lines)> Blocks(IEnumerable<string> smaps)
    {
        var blocks = new Dictionary<(long, long), (string, List<string>)>();
        List<string>? block = null;
        foreach (var line in smaps)
        {
            var first = line.Split(' ', 2)[0];
            var dash = first.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && !first.Contains(':', StringComparison.Ordinal))
            {
                block = [];
                blocks[(Convert.ToInt64(first[..dash], 16), Convert.ToInt64(first[(dash + 1)..], 16))] = (line, block);
            }
            else
            {
                block?.Add(line);
            }
        }

        return blocks;
    }

    /// <summary>The lines of each read-only mapping of <paramref name="path"/> in this process's smaps.</summary>
    private static List<List<string>> ReadOnlyMappingsOf(string path)
        => Blocks(File.ReadLines("/proc/self/smaps")).Values
            .Where(b => b.Header.EndsWith(" " + path, StringComparison.Ordinal) && b.Header.Split(' ', 3)[1][1] != 'w')
            .Select(b => b.Lines)
            .ToList();

    /// <remarks>On a read-only file mapping of this test's own, as in <see cref="Idle_ReadsWithoutReadAhead_AndResumeRestoresIt"/>.</remarks>
    [Fact]
    public void Unmap_TakesTheMappingsPagesOutOfTheProcess_AndTheyReadBackUnchanged()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("mapped.bin");
        var content = new byte[1024 * 1024];
        new Random(7).NextBytes(content);
        File.WriteAllBytes(path, content);
        using var file = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read);
        using var view = file.CreateViewAccessor(0, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read);
        var read = new byte[content.Length];
        view.ReadArray(0, read, 0, read.Length);
        Assert.Equal(content, read);
        Assert.True(ResidentKib(path) >= 1000, $"{ResidentKib(path)} KiB resident after reading it all");

        var mapping = IdleMemory.CleanMappings(File.ReadLines("/proc/self/smaps"), path).ToList();
        Assert.NotEmpty(mapping);
        Assert.True(IdleMemory.Unmap(mapping) >= content.Length);

        Assert.Equal(0, ResidentKib(path));
        Array.Clear(read);
        view.ReadArray(0, read, 0, read.Length);
        Assert.Equal(content, read);
    }

    /// <summary>The resident KiB of this process's read-only mappings of <paramref name="path"/>.</summary>
    private static long ResidentKib(string path)
        => ReadOnlyMappingsOf(path).SelectMany(lines => lines)
            .Where(line => line.StartsWith("Rss:", StringComparison.Ordinal))
            .Sum(line => long.Parse(line["Rss:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));

    /// <remarks>
    /// On a read-only file mapping of this test's own (the advice applies to whatever it is given): the process's
    /// executable mappings are shared with every other test here, and a run service under test may call Resume on them
    /// at any moment.
    /// </remarks>
    [Fact]
    public void Idle_ReadsWithoutReadAhead_AndResumeRestoresIt()
    {
        using var temp = new TempDirectory();
        var path = temp.Combine("mapped.bin");
        File.WriteAllBytes(path, new byte[1024 * 1024]);
        using var file = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read);
        using var view = file.CreateViewAccessor(0, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read);
        var mapping = IdleMemory.Mappings(File.ReadLines("/proc/self/maps").Where(l => l.EndsWith(" " + path, StringComparison.Ordinal)), path).ToList();
        Assert.NotEmpty(mapping); // a read-only mapping of a regular file, as the executable's are

        // VmFlags "rr" in smaps: the mapping is advised MADV_RANDOM.
        IdleMemory.PageOut(mapping);
        Assert.All(Flags(path), flags => Assert.Contains(" rr", flags, StringComparison.Ordinal));

        IdleMemory.Resume(mapping);
        Assert.All(Flags(path), flags => Assert.DoesNotContain(" rr", flags, StringComparison.Ordinal));
    }

    /// <summary>The VmFlags line of each read-only mapping of <paramref name="path"/> in this process.</summary>
    private static List<string> Flags(string path)
    {
        var flags = ReadOnlyMappingsOf(path).SelectMany(lines => lines).Where(line => line.StartsWith("VmFlags:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(flags);
        return flags;
    }
}
