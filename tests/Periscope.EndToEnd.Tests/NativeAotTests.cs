using System.Text.Json;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The agent as it ships: the Native AOT binary published by the test command (PERISCOPE_AOT_BINARY), run as a
/// process on a fixture node. Trimming or AOT breakage (reflection, JSON metadata) only shows up here.
/// </summary>
public sealed class NativeAotTests
{
    [Fact]
    public async Task NativeBinary_CollectOnFixtureNode_FindsTheSameAsInProcess()
    {
        var binary = Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        using var store = new TempDirectory();

        var (exit, stdout, stderr) = await TestProcess.RunAsync(binary!, "collect", "--host-root", Fixtures.Node("fault-node"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "aot-1", "--json");
        var (_, inProcess, _) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("fault-node"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "aot-2", "--json");

        Assert.True(exit == 2, stderr);
        using var native = JsonDocument.Parse(stdout);
        using var managed = JsonDocument.Parse(inProcess);
        Assert.Equal(Codes(managed), Codes(native));
        using var expected = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Fixtures.Repository, "tests/fixtures/nodes/fault-node.expected.json")));
        Assert.Equal(expected.RootElement.GetProperty("findings").GetArrayLength(), native.RootElement.GetProperty("findings").GetArrayLength());

        var (reportExit, _, reportError) = await CliRunner.CollectorAsync("verify", "--store", store.Path, "--run-id", "aot-1");
        Assert.True(reportExit == 0, reportError);
    }

    [Fact]
    public async Task NativeBinary_Version_PrintsTheVersion()
    {
        var binary = Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent");

        var (exit, stdout, _) = await TestProcess.RunAsync(binary!, "--version");

        Assert.Equal(0, exit);
        Assert.Matches(@"^\d+\.\d+\.\d+", stdout);
    }

    private static List<string> Codes(JsonDocument document)
        => document.RootElement.GetProperty("findings").EnumerateArray()
            .Select(f => $"{f.GetProperty("code").GetString()}/{f.GetProperty("subject").GetProperty("id").GetString()}/{f.GetProperty("count").GetInt64()}")
            .Order(StringComparer.Ordinal).ToList();
}
