using System.Text.Json;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>The main job end to end: collect on two nodes into one store, then report across them.</summary>
public sealed class CollectThenReportTests
{
    [Fact]
    public async Task Report_TwoCollectedNodes_JudgesTheRunAndSharesFindings()
    {
        using var store = new TempDirectory();
        foreach (var node in new[] { "fault-node", "healthy" })
        {
            var (exit, _, stderr) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node(node), "--offline",
                CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "incident-7");
            Assert.True(exit is 0 or 2, stderr);
        }

        var (reportExit, json, reportErrors) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--format", "json");

        Assert.True(reportExit == 2, reportErrors);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal("incident-7", root.GetProperty("runId").GetString());
        Assert.Equal("critical", root.GetProperty("status").GetString());
        Assert.Equal(2, root.GetProperty("summary").GetProperty("nodes").GetInt32());
        Assert.Equal(1, root.GetProperty("summary").GetProperty("healthy").GetInt32());
        var oom = root.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("code").GetString() == "KERNEL_OOM_KILL");
        Assert.Equal(1, oom.GetProperty("nodeCount").GetInt32());
        Assert.Equal(2, oom.GetProperty("reportingNodes").GetInt32());
        Assert.Equal(5, oom.GetProperty("occurrences").GetInt64());
        Assert.Equal("fault-node", root.GetProperty("nodes")[0].GetProperty("node").GetString());
    }

    [Fact]
    public async Task Report_HtmlToFile_IsSelfContainedWithBundleLinks()
    {
        using var store = new TempDirectory();
        await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("fault-node"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "html-1");
        var file = store.Combine("report.html");

        var (exit, stdout, _) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--format", "html", "--out", file);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        var html = await File.ReadAllTextAsync(file);
        Assert.Contains("<a href=\"html-1/fault-node.zip\">", html, StringComparison.Ordinal);
        Assert.Contains("KERNEL_OOM_KILL", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"http", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_StoreWithCorruptAndIncompleteBundles_ReportsTheRestAndNamesEachReason()
    {
        using var store = new TempDirectory();
        await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("healthy"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "mixed");
        await TestBundles.WriteAsync(store.Path, "mixed", "no-status", withStatus: false, startedAt: DateTimeOffset.UtcNow.AddYears(-5));
        var truncated = await TestBundles.WriteAsync(store.Path, "mixed", "truncated", startedAt: DateTimeOffset.UtcNow.AddYears(-5));
        await File.WriteAllBytesAsync(truncated, (await File.ReadAllBytesAsync(truncated))[..64]);

        var (exit, markdown, stderr) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--run-id", "mixed");

        Assert.Equal(3, exit); // nodes that could not be read make the run unknown
        Assert.Contains("mixed/truncated.zip: rejected: not a readable zip", stderr, StringComparison.Ordinal);
        Assert.Contains("mixed/no-status.zip: incomplete", stderr, StringComparison.Ordinal);
        Assert.Contains("### healthy — healthy", markdown, StringComparison.Ordinal);
        Assert.Contains("Rejected: not a readable zip", markdown, StringComparison.Ordinal);

        var (verifyExit, verifyOut, _) = await CliRunner.CollectorAsync("verify", "--store", store.Path, "--run-id", "mixed");
        Assert.Equal(2, verifyExit);
        Assert.Contains("ok         mixed/healthy.zip", verifyOut, StringComparison.Ordinal);
        Assert.Contains("incomplete mixed/no-status.zip", verifyOut, StringComparison.Ordinal);
        Assert.Contains("corrupt    mixed/truncated.zip", verifyOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_EmptyOrMissingStore_ExitsThree()
    {
        using var store = new TempDirectory();

        var (emptyExit, _, emptyError) = await CliRunner.CollectorAsync("report", "--store", store.Path);
        var (missingExit, _, missingError) = await CliRunner.CollectorAsync("report", "--store", store.Combine("nope"));

        Assert.Equal(3, emptyExit);
        Assert.Contains("holds no run", emptyError, StringComparison.Ordinal);
        Assert.Equal(3, missingExit);
        Assert.Contains("does not exist", missingError, StringComparison.Ordinal);
    }
}
