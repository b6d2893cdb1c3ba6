using System.Text.Json;
using System.Text.Json.Serialization;
using Periscope.Bundle;

namespace Periscope.Agent.Runs;

/// <summary>How a run of this node ended, or that it has started and not ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunState>))]
internal enum RunState
{
    /// <summary>Collecting; if the agent restarts and finds this, the run was cut short by a crash.</summary>
    [JsonStringEnumMemberName("running")]
    Running,

    /// <summary>The bundle was sealed into the spool.</summary>
    [JsonStringEnumMemberName("completed")]
    Completed,

    /// <summary>The run could not seal a bundle (the store refused it, the trigger was invalid, …).</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Cut short by a shutdown or a crash; nothing half-written was left in the store.</summary>
    [JsonStringEnumMemberName("abandoned")]
    Abandoned,
}

/// <summary>One run id as this node's agent saw it.</summary>
internal sealed record RunRecord
{
    public required string RunId { get; init; }
    public required RunState State { get; init; }
    public required string Source { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The bundle's health (completed runs) or why the run failed or was abandoned.</summary>
    public string? Detail { get; init; }

    /// <summary>A run that failed for want of storage (a full disk) may run again from this time; others never do.</summary>
    public DateTimeOffset? RetryAfter { get; init; }
}

/// <summary>
/// The run ids this node has collected or tried, kept beside the spool (<c>&lt;store&gt;/.periscope/runs.json</c>) so
/// that they survive a restart of the agent and of the node: a run id is collected at most once. A run is recorded as
/// running <em>before</em> it starts, so a crash in the middle of it is found at the next start and recorded as
/// abandoned instead of run again (a run that crashed the agent would crash it again). The file is replaced
/// atomically (write, flush to disk, rename); the newest <see cref="Capacity"/> ids are kept.
/// </summary>
internal sealed class RunHistory
{
    public const int Capacity = 1000;
    public const string DirectoryName = ".periscope";
    public const string FileName = "runs.json";

    private readonly Lock _lock = new();
    private readonly string _path;
    private readonly Dictionary<RunId, RunRecord> _runs;

    private RunHistory(string path, Dictionary<RunId, RunRecord> runs)
    {
        _path = path;
        _runs = runs;
    }

    public string Path => _path;

    /// <summary>Why the newest save of the history failed (a full or read-only disk), or null when it was saved.</summary>
    public string? SaveError { get; private set; }

    /// <summary>Loads the history of the store; a missing file is an empty history, an unreadable one is an error.</summary>
    /// <exception cref="IOException">The history exists but cannot be read or parsed.</exception>
    public static RunHistory Load(string store)
    {
        var directory = System.IO.Path.Combine(System.IO.Path.GetFullPath(store), DirectoryName);
        var path = System.IO.Path.Combine(directory, FileName);
        var runs = new Dictionary<RunId, RunRecord>();
        if (File.Exists(path))
        {
            try
            {
                using var stream = File.OpenRead(path);
                var document = JsonSerializer.Deserialize(stream, RunsJsonContext.Default.RunHistoryDocument);
                foreach (var run in document?.Runs ?? [])
                {
                    if (RunId.TryParse(run.RunId, out var id))
                    {
                        runs[id] = run;
                    }
                }
            }
            catch (JsonException ex)
            {
                // Never guess: an unreadable history could make the agent collect runs again. The operator decides.
                throw new IOException($"The run history {path} is not valid JSON ({ex.Message}); move it aside to start a new history.", ex);
            }
        }

        return new RunHistory(path, runs);
    }

    public RunRecord? Get(RunId runId)
    {
        lock (_lock)
        {
            return _runs.GetValueOrDefault(runId);
        }
    }

    /// <summary>The newest runs first.</summary>
    public IReadOnlyList<RunRecord> Recent(int count)
    {
        lock (_lock)
        {
            return _runs.Values.OrderByDescending(r => r.StartedAt).Take(count).ToList();
        }
    }

    /// <summary>Runs recorded as running by an earlier process (it crashed or was killed): recorded as abandoned.</summary>
    public IReadOnlyList<RunRecord> AbandonInterrupted(DateTimeOffset now)
    {
        List<RunRecord> interrupted;
        lock (_lock)
        {
            var running = _runs.Where(r => r.Value.State == RunState.Running).ToList();
            interrupted = [.. running.Select(r => r.Value)];
            foreach (var (id, run) in running)
            {
                _runs[id] = run with
                {
                    State = RunState.Abandoned,
                    EndedAt = now,
                    Detail = "the agent stopped during the run (crash, kill or node restart); a run id is not collected twice",
                };
            }
        }

        if (interrupted.Count > 0)
        {
            Save();
        }

        return interrupted;
    }

    /// <summary>Records the run as running and saves, unless the id is already known.</summary>
    /// <returns>False when the id was recorded before: the caller must not run it.</returns>
    public bool TryStart(RunId runId, string source, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_runs.TryGetValue(runId, out var known) && !(known.RetryAfter is { } after && now >= after))
            {
                return false;
            }

            _runs[runId] = new RunRecord { RunId = runId.Value, State = RunState.Running, Source = source, StartedAt = now };
        }

        Save();
        return true;
    }

    /// <summary>Whether a trigger for this id may be queued now: never seen, or failed for want of storage and due again.</summary>
    public bool MayRun(RunId runId, DateTimeOffset now)
    {
        lock (_lock)
        {
            return !_runs.TryGetValue(runId, out var known) || (known.RetryAfter is { } after && now >= after);
        }
    }

    /// <param name="runId">The run.</param>
    /// <param name="state">How it ended.</param>
    /// <param name="detail">What happened.</param>
    /// <param name="now">When.</param>
    /// <param name="retryAfter">For a run that failed for want of storage (a full disk): when the same id may run again.</param>
    public void End(RunId runId, RunState state, string? detail, DateTimeOffset now, DateTimeOffset? retryAfter = null)
    {
        lock (_lock)
        {
            if (_runs.TryGetValue(runId, out var run))
            {
                _runs[runId] = run with { State = state, EndedAt = now, Detail = detail, RetryAfter = retryAfter };
            }
        }

        Save();
    }

    /// <summary>
    /// Writes the history; a failure (a full or read-only disk) is kept in <see cref="SaveError"/>, never thrown: the
    /// history stays whole in memory and the next save writes all of it.
    /// </summary>
    private void Save()
    {
        try
        {
            Write();
            SaveError = null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SaveError = $"the run history {_path} could not be written: {ex.Message}";
        }
    }

    private void Write()
    {
        RunHistoryDocument document;
        lock (_lock)
        {
            if (_runs.Count > Capacity)
            {
                foreach (var old in _runs.OrderBy(r => r.Value.StartedAt).Take(_runs.Count - Capacity).Select(r => r.Key).ToList())
                {
                    _runs.Remove(old);
                }
            }

            document = new RunHistoryDocument { Runs = _runs.Values.OrderBy(r => r.StartedAt).ToList() };
        }

        var directory = System.IO.Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temp = $"{_path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                JsonSerializer.Serialize(stream, document, RunsJsonContext.Default.RunHistoryDocument);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, _path, overwrite: true);
        }
        finally
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // left for the next start's clean-up
            }
        }
    }
}

/// <summary>The history file.</summary>
internal sealed record RunHistoryDocument
{
    public string SchemaVersion { get; init; } = "1.0";
    public required IReadOnlyList<RunRecord> Runs { get; init; }
}
