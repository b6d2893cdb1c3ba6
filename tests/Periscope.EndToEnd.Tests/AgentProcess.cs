using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The native agent's <c>periscope-agent run</c> as a child process: its stderr is kept line by line, its HTTP address is
/// read from its log, and it is stopped with SIGTERM as the kubelet stops a pod (never SIGKILL unless it hangs).
/// </summary>
internal sealed partial class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();
    private readonly Task _stdoutDrain;

    private AgentProcess(Process process)
    {
        _process = process;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_lock)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        _stdoutDrain = process.StandardOutput.ReadToEndAsync();
    }

    public int Pid => _process.Id;

    public string Stderr
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    public Uri? Address { get; private set; }

    public static async Task<AgentProcess> StartAsync(string binary, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("run");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var agent = new AgentProcess(Process.Start(info)!);
        if (environment.GetValueOrDefault("Periscope__Http__Enabled") != "false")
        {
            var match = await agent.WaitForLogAsync(ListeningLine());
            agent.Address = new Uri(match.Groups[1].Value);
        }

        return agent;
    }

    /// <summary>Waits (at most 30 s) for a log line matching the pattern.</summary>
    public async Task<Match> WaitForLogAsync(Regex pattern)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var match = pattern.Match(Stderr);
            if (match.Success)
            {
                return match;
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the agent exited ({_process.ExitCode}) before logging /{pattern}/:\n{Stderr}");
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"the agent did not log /{pattern}/ within 30 s:\n{Stderr}");
    }

    public async Task<HttpResponseMessage> PostRunAsync(string token, string json)
    {
        using var client = new HttpClient { BaseAddress = Address };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/runs") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    /// <summary>Sends SIGTERM and waits for the exit (at most <paramref name="limit"/>); returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan limit)
    {
        Assert.Equal(0, Kill(_process.Id, 15));
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the agent did not stop within {limit} of SIGTERM:\n{Stderr}");
        }

        await _stdoutDrain;
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"listening on (http://\S+?)\.?$", RegexOptions.Multiline)]
    private static partial Regex ListeningLine();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
