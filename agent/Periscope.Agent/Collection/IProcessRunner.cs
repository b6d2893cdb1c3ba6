namespace Periscope.Agent.Collection;

/// <summary>Runs host commands (journalctl, iptables-save, ...) with a timeout and an output cap, never throwing for a missing binary.</summary>
public interface IProcessRunner
{
    /// <summary>Runs a command to its end, its timeout, its output cap or cancellation, whichever comes first.</summary>
    Task<ProcessResult> RunAsync(ProcessRequest request, CancellationToken cancellationToken);
}

/// <summary>A command to run.</summary>
public sealed record ProcessRequest
{
    /// <summary>Binary name (looked up on PATH) or path.</summary>
    public required string FileName { get; init; }

    /// <summary>Arguments, passed without a shell.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Wall-time limit; the process tree is killed when it passes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most stdout bytes kept; the process is killed once it writes more.</summary>
    public long MaxOutputBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Where stdout goes; null keeps it in <see cref="ProcessResult.Output"/>.</summary>
    public Stream? OutputTo { get; init; }

    /// <summary>The command line for the record.</summary>
    public string Display => Arguments.Count == 0 ? FileName : FileName + " " + string.Join(' ', Arguments);
}

/// <summary>How a command ended.</summary>
public sealed record ProcessResult
{
    /// <summary><c>ok</c>, <c>missing-binary</c>, <c>timed-out</c>, <c>output-capped</c> or <c>failed</c>.</summary>
    public required string Outcome { get; init; }

    /// <summary>The binary run, or null when none was found.</summary>
    public string? Binary { get; init; }

    /// <summary>Exit code, where the process exited by itself.</summary>
    public int? ExitCode { get; init; }

    /// <summary>Stdout, when not sent to <see cref="ProcessRequest.OutputTo"/>.</summary>
    public byte[] Output { get; init; } = [];

    /// <summary>Bytes of stdout written.</summary>
    public long OutputBytes { get; init; }

    /// <summary>The first 16 KiB of stderr, as text.</summary>
    public string Error { get; init; } = string.Empty;

    /// <summary>Wall time.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>True when the process ran and exited 0 within its limits.</summary>
    public bool Succeeded => Outcome == "ok" && ExitCode == 0;

    /// <summary>The manifest's record of this run of <paramref name="request"/>.</summary>
    public Bundle.CommandRecord ToRecord(ProcessRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new Bundle.CommandRecord
        {
            CommandLine = request.Display,
            Binary = Binary,
            ExitCode = ExitCode,
            Outcome = Outcome,
            DurationMs = Duration.TotalMilliseconds,
        };
    }
}
