using Periscope.Agent.Export;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Export;

/// <summary>What a killed writer left in the store is removed at the next start; nothing of another node's is touched.</summary>
public sealed class LeftoverTests
{
    [Fact]
    public async Task RemoveLeftovers_KilledWritersTemporaryFilesAndOldEmptyRuns_AreRemovedOthersKept()
    {
        using var store = new TempDirectory();
        var now = DateTimeOffset.UtcNow;
        var run = Directory.CreateDirectory(store.Combine("run-1")).FullName;
        string[] ours = [".node-a.z0a1b2c.tmp", ".node-a.s0a1b2c.tmp", ".node-a.m0a1b2c.tmp", ".node-a.zip.0123456789abcdef0123456789abcdef.tmp", ".node-a.status.0123456789abcdef.tmp"];
        string[] kept = [".node-b.z0a1b2c.tmp", "node-a.zip", "node-a.status.json", "node-a.started", ".node-a.notes.tmp"];
        foreach (var name in ours.Concat(kept))
        {
            await File.WriteAllTextAsync(Path.Combine(run, name), "x", TestContext.Current.CancellationToken);
        }

        var oldEmpty = Directory.CreateDirectory(store.Combine("run-old"));
        oldEmpty.LastWriteTimeUtc = now.UtcDateTime.AddHours(-2);
        var newEmpty = Directory.CreateDirectory(store.Combine("run-new")); // another writer may be about to fill it

        var removed = DirectoryBundleSink.RemoveLeftovers(store.Path, "node-a", now);

        Assert.All(ours, name => Assert.False(File.Exists(Path.Combine(run, name)), name));
        Assert.All(kept, name => Assert.True(File.Exists(Path.Combine(run, name)), name));
        Assert.False(oldEmpty.Exists && Directory.Exists(oldEmpty.FullName));
        Assert.True(Directory.Exists(newEmpty.FullName));
        Assert.Equal(ours.Length + 1, removed.Count);
    }

    [Fact]
    public void StartedMarker_IsWrittenOnce_WithTheRunAndNode_AndNeverOverwritten()
    {
        using var store = new TempDirectory();
        var runId = Bundle.RunId.Parse("run-1");
        Directory.CreateDirectory(store.Combine("run-1"));
        var started = new DateTimeOffset(2026, 12, 5, 11, 0, 0, TimeSpan.Zero);

        var first = DirectoryBundleSink.WriteStartedMarker(store.Path, runId, "node-a", started);
        var second = DirectoryBundleSink.WriteStartedMarker(store.Path, runId, "node-a", started.AddMinutes(5));

        var marker = global::System.Text.Json.JsonSerializer.Deserialize(File.ReadAllBytes(store.Combine("run-1/node-a.started")), Bundle.BundleJsonContext.Default.StartedMarker)!;
        Assert.Equal(("node-a", "run-1", started), (marker.Node, marker.RunId, marker.StartedAt));
        Assert.StartsWith("periscope-agent/", marker.Agent, StringComparison.Ordinal);
        Assert.NotNull(first);
        Assert.NotNull(second); // already there: the first is kept
        Assert.Equal(["node-a.started"], Directory.GetFiles(store.Combine("run-1")).Select(Path.GetFileName));
    }
}
