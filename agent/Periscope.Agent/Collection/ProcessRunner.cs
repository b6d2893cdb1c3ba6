using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Periscope.Agent.Collection;

/// <summary>
/// The real <see cref="IProcessRunner"/>, on <see cref="Process"/>. Every command runs in a session and process group
/// of its own (started through <c>setsid</c>, which execs it in place: .NET's <see cref="Process"/> has no
/// process-group API), so that on a timeout, an output cap or shutdown the whole group is killed — children that were
/// reparented away from the command included, which <see cref="Process.Kill(bool)"/> cannot find. Commands are the
/// agent's own tools, found on its <c>PATH</c>; a path under the host root is never executed.
/// </summary>
internal sealed partial class ProcessRunner(TimeProvider timeProvider, ILogger<ProcessRunner> logger) : IProcessRunner
{
    private const int MaxErrorBytes = 16 * 1024;
    private readonly ILogger _logger = logger;

    public async Task<ProcessResult> RunAsync(ProcessRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var binary = FindBinary(request.FileName);
        if (binary is null)
        {
            LogMissingBinary(request.FileName);
            return new ProcessResult { Outcome = "missing-binary" };
        }

        var start = timeProvider.GetTimestamp();
        var setsid = Setsid.Value;
        var info = new ProcessStartInfo(setsid ?? binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (setsid is not null)
        {
            info.ArgumentList.Add(binary);
        }

        foreach (var argument in request.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["LC_ALL"] = "C";
        info.Environment["SYSTEMD_PAGER"] = string.Empty;

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new ProcessResult { Outcome = "failed", Binary = binary, Error = ex.Message, Duration = timeProvider.GetElapsedTime(start) };
        }

        process.StandardInput.Close();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(request.Timeout);

        using var buffer = request.OutputTo is null ? new MemoryStream() : null;
        var sink = request.OutputTo ?? buffer!;
        var stdoutTask = CopyCappedAsync(process.StandardOutput.BaseStream, sink, request.MaxOutputBytes, deadline.Token);
        var stderrTask = ReadErrorAsync(process.StandardError.BaseStream, deadline.Token);

        var outcome = "ok";
        string? sinkError = null;
        long written = 0;
        try
        {
            (written, var capped) = await stdoutTask;
            if (capped)
            {
                outcome = "output-capped";
                Kill(process);
            }

            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            outcome = "timed-out";
            LogTimedOut(request.Display, request.Timeout);
        }
        catch (IOException ex) when (request.OutputTo is not null)
        {
            // The caller's sink failed (a full disk under a spool file): the command is stopped, not left running.
            Kill(process);
            outcome = "failed";
            sinkError = $"writing its output failed: {ex.Message}";
        }

        string error;
        try
        {
            error = await stderrTask.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            error = string.Empty;
        }

        return new ProcessResult
        {
            Outcome = outcome,
            Binary = binary,
            ExitCode = outcome == "ok" && process.HasExited ? process.ExitCode : null,
            Output = buffer?.ToArray() ?? [],
            OutputBytes = written,
            Error = sinkError is null ? error : $"{sinkError} {error}".TrimEnd(),
            Duration = timeProvider.GetElapsedTime(start),
        };
    }

    /// <summary>The <c>setsid</c> of the agent's own system (util-linux); without it commands share the agent's group.</summary>
    private static readonly Lazy<string?> Setsid = new(() => FindBinary("setsid"));

    internal static string? FindBinary(string fileName)
    {
        if (fileName.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(fileName) ? fileName : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, fileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static async Task<(long Written, bool Capped)> CopyCappedAsync(Stream source, Stream destination, long cap, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var keep = (int)Math.Min(read, cap - total);
            if (keep > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, keep), cancellationToken);
                total += keep;
            }

            if (keep < read)
            {
                return (total, true);
            }
        }

        return (total, false);
    }

    private static async Task<string> ReadErrorAsync(Stream source, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        using var kept = new MemoryStream();
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var keep = (int)Math.Min(read, MaxErrorBytes - kept.Length);
            if (keep > 0)
            {
                kept.Write(buffer, 0, keep);
            }
        }

        return Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
    }

    private static void Kill(Process process)
    {
        try
        {
            // The command leads its own process group (setsid): signal the whole group. A group id is not handed to
            // a new process while any member of the group lives, so this reaches the command's descendants even
            // after the command itself has exited.
            if (Setsid.Value is not null)
            {
                _ = KillProcessGroup(-process.Id, SigKill);
            }

            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private const int SigKill = 9;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillProcessGroup(int pid, int signal);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Debug, Message = "Command {Command} is not installed; recording it as missing.")]
    private partial void LogMissingBinary(string command);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Command {Command} did not finish within {Timeout}; it was killed.")]
    private partial void LogTimedOut(string command, TimeSpan timeout);
}
