using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Redaction;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collection;

public sealed class CollectionRunnerTests
{
    [Fact]
    public async Task RunAsync_CollectorThrows_IsFailedAndOthersStillRun()
    {
        var results = await RunAsync(new RunOptions(), new DelegateCollector("boom", (_, _) => throw new InvalidOperationException("kaput")), new DelegateCollector("fine", WriteSmallFile));

        var boom = results.Single(r => r.Name == "boom");
        Assert.Equal(CollectorStatus.Failed, boom.Status);
        Assert.Contains("kaput", boom.Error, StringComparison.Ordinal);
        Assert.Equal(CollectorStatus.Ok, results.Single(r => r.Name == "fine").Status);
    }

    [Fact]
    public async Task RunAsync_CollectorIgnoresCancellationAndHangs_IsAbandonedAsTimedOutNearItsDeadline()
    {
        var options = new RunOptions { CollectorTimeout = TimeSpan.FromMilliseconds(300), AbandonGrace = TimeSpan.FromMilliseconds(200) };
        var release = new ManualResetEventSlim();
        var hang = new DelegateCollector("hang", async (context, _) =>
        {
            await context.Output.WriteTextAsync("before.txt", "kept", CancellationToken.None);
            release.Wait(TimeSpan.FromSeconds(30), CancellationToken.None); // blocks, deaf to cancellation
        });
        var stopwatch = Stopwatch.StartNew();

        var results = await RunAsync(options, hang, new DelegateCollector("fine", WriteSmallFile));

        stopwatch.Stop();
        release.Set();
        var result = results.Single(r => r.Name == "hang");
        Assert.Equal(CollectorStatus.TimedOut, result.Status);
        Assert.Contains("abandoned", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Files, f => f.BundlePath == "hang/before.txt");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"the run took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task RunAsync_CollectorPassesDeadlineButHonoursCancellation_IsTimedOut()
    {
        var options = new RunOptions { CollectorTimeout = TimeSpan.FromMilliseconds(200) };
        var slow = new DelegateCollector("slow", (_, token) => Task.Delay(TimeSpan.FromMinutes(5), token));

        var result = Assert.Single(await RunAsync(options, slow));

        Assert.Equal(CollectorStatus.TimedOut, result.Status);
        Assert.DoesNotContain("abandoned", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_CollectorFloodsFiftyMib_IsPartialAndKeptWithinTheCap()
    {
        var options = new RunOptions { CollectorOutputCapBytes = 4L * 1024 * 1024 };
        var flood = new DelegateCollector("flood", async (context, token) =>
        {
            await using var stream = context.Output.CreateFile("flood.log");
            var chunk = new byte[1024 * 1024];
            Array.Fill(chunk, (byte)'x');
            for (var i = 0; i < 50; i++)
            {
                await stream.WriteAsync(chunk, token);
            }
        });

        var result = Assert.Single(await RunAsync(options, flood));

        Assert.Equal(CollectorStatus.Partial, result.Status);
        Assert.Contains("output cap", result.Error, StringComparison.Ordinal);
        var file = Assert.Single(result.Files);
        Assert.Equal(4L * 1024 * 1024, new FileInfo(file.StagedPath).Length);
        Assert.Equal(46L * 1024 * 1024, file.AttemptedSize);
    }

    [Fact]
    public async Task RunAsync_UnsupportedCollector_IsSkippedWithReason()
    {
        var absent = new DelegateCollector("absent", WriteSmallFile, CollectorSupport.Unsupported("no socket here"));

        var result = Assert.Single(await RunAsync(new RunOptions(), absent));

        Assert.Equal(CollectorStatus.Skipped, result.Status);
        Assert.Equal("no socket here", result.Error);
    }

    [Fact]
    public async Task RunAsync_Collectors_RunConcurrently()
    {
        var gate = new TaskCompletionSource();
        var a = new DelegateCollector("a", async (_, token) => await gate.Task.WaitAsync(token));
        var b = new DelegateCollector("b", (_, _) =>
        {
            gate.SetResult(); // a can only finish if b runs while a waits
            return Task.CompletedTask;
        });

        var results = await RunAsync(new RunOptions { CollectorTimeout = TimeSpan.FromSeconds(20) }, a, b);

        Assert.All(results, r => Assert.Equal(CollectorStatus.Ok, r.Status));
    }

    [Fact]
    public void Validate_TimeoutsOutOfRange_ReportsEveryFailureAtOnce()
    {
        var options = new RunOptions { CollectorTimeout = TimeSpan.Zero, CollectorOutputCapBytes = 1, DefaultWindow = TimeSpan.FromHours(-1) };
        options.CollectorTimeouts["kernel"] = TimeSpan.FromDays(1);

        var result = new RunOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(4, result.Failures!.Count());
    }

    private static async Task WriteSmallFile(CollectionContext context, CancellationToken token)
        => await context.Output.WriteTextAsync("small.txt", "hello", token);

    private static async Task<IReadOnlyList<CollectorResult>> RunAsync(RunOptions options, params ICollector[] collectors)
    {
        using var staging = new TempDirectory();
        using var root = new NodeRoot();
        var runner = new CollectionRunner(collectors, new ProcessRunner(TimeProvider.System, NullLogger<ProcessRunner>.Instance),
            Options.Create(options), TimeProvider.System, NullLogger<CollectionRunner>.Instance);
        var results = await runner.RunAsync(new RunRequest
        {
            RunId = RunId.Parse("r1"),
            NodeName = "n",
            Host = new HostRoot(root.Path),
            Since = DateTimeOffset.UnixEpoch,
            Until = DateTimeOffset.UtcNow,
            StagingDirectory = staging.Path,
            Redactor = Redactor.Default,
        }, CancellationToken.None);

        // Staged files are deleted with the staging directory: read what the assertions need before that.
        foreach (var file in results.SelectMany(r => r.Files))
        {
            Assert.True(File.Exists(file.StagedPath));
        }

        return results.Select(r => r with { Files = [.. r.Files.Select(f => Preserve(f))] }).ToList();
    }

    private static StagedFile Preserve(StagedFile file)
    {
        var copy = Path.Combine(Path.GetTempPath(), "periscope-runner-" + Guid.NewGuid().ToString("N"));
        File.Copy(file.StagedPath, copy);
        return new StagedFile(file.BundlePath, copy) { Note = file.Note, AttemptedSize = file.AttemptedSize };
    }

    private sealed class DelegateCollector(string name, Func<CollectionContext, CancellationToken, Task> collect, CollectorSupport? support = null) : ICollector
    {
        public string Name => name;

        public string Description => "test collector";

        public CollectorSupport CheckSupport(INodeFileSystem host) => support ?? CollectorSupport.Supported("test");

        public Task CollectAsync(CollectionContext context, CancellationToken cancellationToken) => collect(context, cancellationToken);
    }
}
