using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The native agent as the DaemonSet runs it (<c>periscope-agent run</c>): stopped by SIGTERM in the middle of a run
/// that cannot finish (abandoned cleanly) and of one that can (sealed), and refusing bad settings at start.
/// </summary>
public sealed partial class AgentServiceTests : IDisposable
{
    private const string Token = "agent-local-token-5f2c";
    private readonly TempDirectory _temp = new();
    private readonly string _binary;
    private readonly Socket _hungRuntime;
    private readonly NodeRoot _node = new();

    public AgentServiceTests()
    {
        var binary = global::System.Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        _binary = binary!;
        File.WriteAllText(_temp.Combine("token"), Token);

        // A container runtime that accepts connections and never answers: the containerd collector waits for its deadline.
        _node.File("etc/hostname", "hung-node\n").Dir("run/containerd");
        _hungRuntime = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _hungRuntime.Bind(new UnixDomainSocketEndPoint(_node.Real("run/containerd/containerd.sock")));
        _hungRuntime.Listen(16);
    }

    public void Dispose()
    {
        _hungRuntime.Dispose();
        _node.Dispose();
        _temp.Dispose();
    }

    private Dictionary<string, string> Settings(string grace, string containerdTimeout) => new()
    {
        ["Periscope__Http__Listen"] = "127.0.0.1:0",
        ["Periscope__Http__TokenFile"] = _temp.Combine("token"),
        ["Periscope__Triggers__ConfigMap__Source"] = "none",
        ["Periscope__Run__ShutdownGrace"] = grace,
        ["Periscope__Run__CollectorTimeouts__containerd"] = containerdTimeout,
    };

    private string Store => _temp.Combine("spool");

    private RunHistoryView History()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Store, ".periscope", "runs.json")));
        return new RunHistoryView(document.RootElement.GetProperty("runs").EnumerateArray()
            .ToDictionary(r => r.GetProperty("runId").GetString()!, r => r.GetProperty("state").GetString()!));
    }

    private sealed record RunHistoryView(Dictionary<string, string> States);

    [Fact]
    public async Task Sigterm_RunCannotFinishWithinGrace_IsAbandonedCleanlyAndNeverRunAgain()
    {
        await using (var agent = await AgentProcess.StartAsync(_binary, Settings("00:00:01", "00:01:00"), "--host-root", _node.Path, "--out", Store, "--node", "hung-node"))
        {
            using var accepted = await agent.PostRunAsync(Token, """{"runId":"cut-short","collectors":"containerd"}""");
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            await agent.WaitForLogAsync(new Regex("Run cut-short starting"));

            var exit = await agent.TerminateAsync(TimeSpan.FromSeconds(20));

            Assert.True(exit == 0, agent.Stderr);
            Assert.Contains("abandoned at shutdown", agent.Stderr, StringComparison.Ordinal);
        }

        Assert.Equal("abandoned", History().States["cut-short"]);
        Assert.False(File.Exists(Path.Combine(Store, StoreLayout.BundlePath("cut-short", "hung-node"))));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Store, ".staging")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(Store, "cut-short")));

        // The next start knows the id: the same trigger does not start it again.
        await using var restarted = await AgentProcess.StartAsync(_binary, Settings("00:00:01", "00:01:00"), "--host-root", _node.Path, "--out", Store, "--node", "hung-node");
        using var again = await restarted.PostRunAsync(Token, """{"runId":"cut-short","collectors":"containerd"}""");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(0, await restarted.TerminateAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Sigterm_RunFinishesWithinGrace_SealsItsBundleBeforeExiting()
    {
        await using var agent = await AgentProcess.StartAsync(_binary, Settings("00:00:30", "00:00:02"), "--host-root", _node.Path, "--out", Store, "--node", "hung-node");
        using var accepted = await agent.PostRunAsync(Token, """{"runId":"finishes","collectors":"containerd"}""");
        await agent.WaitForLogAsync(new Regex("Run finishes starting"));

        var exit = await agent.TerminateAsync(TimeSpan.FromSeconds(40));

        Assert.True(exit == 0, agent.Stderr);
        Assert.Contains("Stopping during run finishes", agent.Stderr, StringComparison.Ordinal);
        Assert.Equal("completed", History().States["finishes"]);
        var status = JsonSerializer.Deserialize(File.ReadAllText(Path.Combine(Store, StoreLayout.StatusPath("finishes", "hung-node"))), BundleJsonContext.Default.StatusRecord)!;
        Assert.Equal("finishes", status.RunId);
        Assert.True(File.Exists(Path.Combine(Store, StoreLayout.BundlePath("finishes", "hung-node"))));
    }

    [Fact]
    public async Task Start_InvalidSettings_ExitsWithEveryProblemAtOnce()
    {
        var environment = Settings("00:00:01", "00:00:02");
        environment["Periscope__Triggers__ConfigMap__Source"] = "guess";
        environment["Periscope__Spool__MaxBytes"] = "12";
        environment["Periscope__Run__ShutdownGrace"] = "02:00:00";

        var (exit, _, stderr) = await RunToEndAsync(environment, "--host-root", _node.Path, "--out", Store);

        Assert.Equal(3, exit);
        Assert.Contains("Periscope:Triggers:ConfigMap:Source must be auto, api, files or none", stderr, StringComparison.Ordinal);
        Assert.Contains("Periscope:Spool:MaxBytes must be at least 4096", stderr, StringComparison.Ordinal);
        Assert.Contains("Periscope:Run:ShutdownGrace must be between 0 and 10 minutes", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_OptionsFromAMountedDirectory_AreUsedAndEnvironmentWins()
    {
        var mounted = _temp.Combine("config");
        Directory.CreateDirectory(mounted);
        File.WriteAllText(Path.Combine(mounted, "Periscope__Triggers__ConfigMap__Source"), "guess-from-file\n");
        File.WriteAllText(Path.Combine(mounted, "Periscope__Spool__MaxBytes"), "7");
        var environment = Settings("00:00:01", "00:00:02");
        environment.Remove("Periscope__Triggers__ConfigMap__Source");

        var (exit, _, stderr) = await RunToEndAsync(environment, "--host-root", _node.Path, "--out", Store, "--config-dir", mounted);
        environment["Periscope__Spool__MaxBytes"] = "4096";
        environment["Periscope__Triggers__ConfigMap__Source"] = "none";
        await using var fixedByEnvironment = await AgentProcess.StartAsync(_binary, environment, "--host-root", _node.Path, "--out", Store, "--config-dir", mounted);

        Assert.Equal(3, exit);
        Assert.Contains("found 'guess-from-file'", stderr, StringComparison.Ordinal);
        Assert.Contains("MaxBytes must be at least 4096 (found 7)", stderr, StringComparison.Ordinal);
        Assert.Equal(0, await fixedByEnvironment.TerminateAsync(TimeSpan.FromSeconds(20)));
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunToEndAsync(Dictionary<string, string> environment, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(_binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("run");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
