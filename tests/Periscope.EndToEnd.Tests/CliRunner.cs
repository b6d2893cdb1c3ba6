using Periscope.Agent.Cli;
using Periscope.Collector.Cli;

namespace Periscope.EndToEnd.Tests;

/// <summary>Runs the two CLIs in-process, capturing stdout and stderr separately.</summary>
internal static class CliRunner
{
    public const string FixtureWindow = "--since=2025-11-20T00:00:00Z";
    public const string FixtureWindowEnd = "--until=2025-11-21T00:00:00Z";

    public static async Task<(int ExitCode, string Stdout, string Stderr)> AgentAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await AgentCli.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> CollectorAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CollectorCli.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
