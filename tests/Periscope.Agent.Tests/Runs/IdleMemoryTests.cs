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
        var flags = new List<string>();
        var inFile = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-', StringComparison.Ordinal) && line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries) is { Length: >= 2 } header)
            {
                inFile = line.EndsWith(" " + path, StringComparison.Ordinal) && header[1][1] != 'w';
            }
            else if (inFile && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                flags.Add(line);
            }
        }

        Assert.NotEmpty(flags);
        return flags;
    }
}
