using Periscope.Agent.Hosting;
using Xunit;

namespace Periscope.Agent.Tests.Hosting;

/// <summary>Which mappings the agent pages out between runs: only its own executable's, and only those it cannot write.</summary>
public sealed class IdleMemoryTests
{
    private const string Binary = "/app/periscope-agent";

    [Fact]
    public void Mappings_AreTheExecutablesReadOnlyOnes_NeverWritableLibrariesOrAnonymous()
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
            "garbage line",
            "7fff0000-7ffe0000 r--p 00000000 08:01 1234 /app/periscope-agent", // end before start
        ];

        var mappings = IdleMemory.Mappings(maps, Binary).ToList();

        Assert.Equal([(0x55d4c0a00000L, 0x55d4c0c00000L), (0x55d4c0c00000L, 0x55d4c1800000L)], mappings);
        Assert.Empty(IdleMemory.Mappings(maps, string.Empty));
    }

    [Fact]
    public void PageOutOwnBinary_AdvisesOnlyItsOwnMappings_AndTheProcessKeepsRunning()
    {
        var executable = Environment.ProcessPath!;
        var own = IdleMemory.Mappings(File.ReadAllLines("/proc/self/maps"), executable).Sum(m => m.End - m.Start);

        var advised = IdleMemory.PageOutOwnBinary();

        Assert.True(own > 0, "the test host's executable is mapped read-only");
        Assert.Equal(own, advised); // every read-only mapping of the executable, and nothing else
    }
}
