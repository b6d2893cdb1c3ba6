using Microsoft.Extensions.Logging.Abstractions;
using Periscope.Agent.Collection;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collection;

public sealed class ProcessRunnerTests
{
    private readonly ProcessRunner _runner = new(TimeProvider.System, NullLogger<ProcessRunner>.Instance);

    [Fact]
    public async Task RunAsync_MissingBinary_IsARecordedOutcomeNotAnException()
    {
        var result = await _runner.RunAsync(new ProcessRequest { FileName = "periscope-no-such-binary" }, CancellationToken.None);

        Assert.Equal("missing-binary", result.Outcome);
        Assert.Null(result.Binary);
    }

    [Fact]
    public async Task RunAsync_HangingCommand_IsKilledAtItsTimeout()
    {
        Requires.Tool("sleep");

        var result = await _runner.RunAsync(new ProcessRequest { FileName = "sleep", Arguments = ["60"], Timeout = TimeSpan.FromMilliseconds(300) }, CancellationToken.None);

        Assert.Equal("timed-out", result.Outcome);
        Assert.True(result.Duration < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task RunAsync_TimedOutCommand_TakesItsWholeProcessGroupWithIt()
    {
        Requires.Tool("sh");
        Requires.Tool("setsid");
        // A unique duration names the orphan: the subshell starts it and exits, so it is reparented away from the
        // command (no longer in its process tree) but stays in its process group.
        var tag = $"{Random.Shared.Next(100, 999)}.{Random.Shared.Next(100000, 999999)}";

        var result = await _runner.RunAsync(
            new ProcessRequest { FileName = "sh", Arguments = ["-c", $"(sleep {tag} &); exec sleep 60"], Timeout = TimeSpan.FromMilliseconds(500) },
            CancellationToken.None);

        Assert.Equal("timed-out", result.Outcome);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Orphans(tag).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Empty(Orphans(tag));
    }

    /// <summary>Processes whose command line is <c>sleep TAG</c>.</summary>
    private static List<int> Orphans(string tag)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(directory, "cmdline"));
                var state = File.ReadAllText(Path.Combine(directory, "stat"));
                if (cmdline == $"sleep\0{tag}\0" && !state.Contains(") Z ", StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // gone while we looked
            }
        }

        return found;
    }

    [Fact]
    public async Task RunAsync_FloodingCommand_IsCappedAndKilled()
    {
        Requires.Tool("yes");

        var result = await _runner.RunAsync(new ProcessRequest { FileName = "yes", MaxOutputBytes = 64 * 1024, Timeout = TimeSpan.FromSeconds(10) }, CancellationToken.None);

        Assert.Equal("output-capped", result.Outcome);
        Assert.Equal(64 * 1024, result.Output.Length);
    }

    [Fact]
    public async Task RunAsync_SinkOnAFullDisk_StopsTheCommandWithAClearError()
    {
        Requires.Tool("yes");
        await using var full = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);

        var result = await _runner.RunAsync(new ProcessRequest { FileName = "yes", OutputTo = full, Timeout = TimeSpan.FromSeconds(30) }, CancellationToken.None);

        Assert.Equal("failed", result.Outcome);
        Assert.Contains("writing its output failed", result.Error, StringComparison.Ordinal);
        Assert.True(result.Duration < TimeSpan.FromSeconds(10)); // stopped, not left to its timeout
    }

    [Fact]
    public async Task RunAsync_NormalCommand_ReturnsOutputAndExitCode()
    {
        Requires.Tool("sh");

        var result = await _runner.RunAsync(new ProcessRequest { FileName = "sh", Arguments = ["-c", "echo out; echo err >&2; exit 3"] }, CancellationToken.None);

        Assert.Equal("ok", result.Outcome);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("out\n", System.Text.Encoding.UTF8.GetString(result.Output));
        Assert.Equal("err\n", result.Error);
    }
}
