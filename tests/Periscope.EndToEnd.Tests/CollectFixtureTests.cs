using System.Text.Json;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary><c>collect</c> on fixture node roots, checked against expectations written by hand.</summary>
public sealed class CollectFixtureTests
{
    [Fact]
    public async Task Collect_FaultNode_FindsExactlyTheHandWrittenExpectations()
    {
        using var store = new TempDirectory();
        var expected = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Fixtures.Repository, "tests/fixtures/nodes/fault-node.expected.json"))).RootElement;

        var (exit, stdout, stderr) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("fault-node"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "fixture-1", "--json");

        Assert.True(exit == expected.GetProperty("exitCode").GetInt32(), stderr);
        using var output = JsonDocument.Parse(stdout); // exactly one JSON document on stdout
        var root = output.RootElement;
        Assert.Equal(expected.GetProperty("node").GetString(), root.GetProperty("node").GetString());
        var actual = root.GetProperty("findings").EnumerateArray().Select(Key).Order(StringComparer.Ordinal).ToList();
        var wanted = expected.GetProperty("findings").EnumerateArray().Select(ExpectedKey).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(wanted, actual);

        foreach (var finding in expected.GetProperty("findings").EnumerateArray().Where(f => f.TryGetProperty("pod", out _)))
        {
            var match = root.GetProperty("findings").EnumerateArray().Single(f => Key(f) == ExpectedKey(finding));
            var attributes = match.GetProperty("attributes");
            Assert.Equal(finding.GetProperty("namespace").GetString(), attributes.GetProperty("namespace").GetString());
            Assert.Equal(finding.GetProperty("pod").GetString(), attributes.GetProperty("pod").GetString());
            Assert.Equal(finding.GetProperty("container").GetString(), attributes.GetProperty("container").GetString());
        }
    }

    [Fact]
    public async Task Collect_FaultNode_EvidenceLinesPointAtTheClassifiedRecords()
    {
        using var store = new TempDirectory();

        var (_, stdout, _) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("fault-node"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "fixture-2", "--json");

        using var output = JsonDocument.Parse(stdout);
        var bundle = output.RootElement.GetProperty("bundle").GetString()!;
        using var reader = Periscope.Bundle.BundleReader.Open(File.OpenRead(bundle), "fault-node");
        using var evidence = new StreamReader(reader.OpenEntry("kernel/kmsg.log"));
        var lines = (await evidence.ReadToEndAsync()).Split('\n');
        foreach (var finding in reader.ReadFindings().Findings.Where(f => f.Collector == "kernel"))
        {
            foreach (var place in finding.Evidence)
            {
                var line = lines[(int)place.Line!.Value - 1];
                Assert.Contains(" kern.", line, StringComparison.Ordinal);
                Assert.True(finding.Code != "DISK_IO_ERROR" || line.Contains("I/O error", StringComparison.Ordinal), line);
            }
        }

        Assert.DoesNotContain(lines, l => l.Contains('\n', StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(@"escaped \x0anewline", StringComparison.Ordinal)); // one record stays one line
    }

    [Fact]
    public async Task Collect_HealthyNode_ExitsZeroWithNoFindings()
    {
        using var store = new TempDirectory();

        var (exit, stdout, stderr) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("healthy"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "fixture-3");

        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("HEALTHY", stdout, StringComparison.Ordinal);
        Assert.Contains("No findings.", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(store.Path, "fixture-3", "healthy.zip")));
        Assert.True(File.Exists(Path.Combine(store.Path, "fixture-3", "healthy.status.json")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(store.Path, "fixture-3", "healthy.zip")));
    }

    [Fact]
    public async Task Collect_SelectedCollectorOnly_RunsJustThatOne()
    {
        using var store = new TempDirectory();

        var (exit, stdout, _) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("fault-node"), "--offline", "--collectors", "system",
            "--out", store.Path, "--json");

        Assert.Equal(2, exit);
        using var output = JsonDocument.Parse(stdout);
        Assert.Equal(["system"], output.RootElement.GetProperty("collectors").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.DoesNotContain(output.RootElement.GetProperty("findings").EnumerateArray(), f => f.GetProperty("collector").GetString() == "kernel");
    }

    [Fact]
    public async Task Collectors_ListsEachWithSupportAndReason()
    {
        using var root = new NodeRoot().File("/etc/hostname", "x");

        var (exit, stdout, _) = await CliRunner.AgentAsync("collectors", "--host-root", root.Path, "--json");

        Assert.Equal(0, exit);
        using var output = JsonDocument.Parse(stdout);
        var kernel = output.RootElement.GetProperty("collectors").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "kernel");
        Assert.False(kernel.GetProperty("supported").GetBoolean());
        Assert.Contains("no kernel log", kernel.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    private static string Key(JsonElement finding)
    {
        var subject = finding.GetProperty("subject");
        return $"{finding.GetProperty("code").GetString()}|{finding.GetProperty("severity").GetString()}|{subject.GetProperty("kind").GetString()}:{subject.GetProperty("id").GetString()}|{finding.GetProperty("count").GetInt64()}";
    }

    private static string ExpectedKey(JsonElement finding)
        => $"{finding.GetProperty("code").GetString()}|{finding.GetProperty("severity").GetString()}|{finding.GetProperty("subject").GetString()}|{finding.GetProperty("count").GetInt64()}";
}
