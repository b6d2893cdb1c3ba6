using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Runs;

namespace Periscope.Agent.Triggers;

/// <summary>
/// The run-id ConfigMap read from its files mounted into the pod, for clusters where the agent may not watch the API:
/// the directory is read every <see cref="ConfigMapTriggerOptions.PollInterval"/> (<c>runId</c>, <c>collectors</c>,
/// <c>since</c>; the kubelet swaps all of them at once through the volume's <c>..data</c> link). A missing directory or
/// <c>runId</c> file means no run is asked for.
/// </summary>
internal sealed partial class ConfigMapFilesTrigger(
    TriggerIntake intake, IOptions<TriggerOptions> options, TimeProvider time, ILogger<ConfigMapFilesTrigger> logger) : BackgroundService
{
    public const string SourceName = "configmap-files";
    private readonly ILogger _logger = logger;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value.ConfigMap;
        if (o.ResolvedSource(Environment.GetEnvironmentVariable) != "files")
        {
            return;
        }

        LogPolling(o.Directory, o.PollInterval.TotalSeconds);
        using var timer = new PeriodicTimer(o.PollInterval, time);
        string? lastError = null;
        try
        {
            do
            {
                try
                {
                    var runId = Read(o.Directory, "runId");
                    if (runId is not null)
                    {
                        intake.Submit(runId, Read(o.Directory, "collectors"), Read(o.Directory, "since"), SourceName);
                    }

                    lastError = null;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    if (ex.Message != lastError)
                    {
                        lastError = ex.Message;
                        LogUnreadable(o.Directory, ex.Message);
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static string? Read(string directory, string key)
    {
        var path = Path.Combine(directory, key);
        if (!File.Exists(path))
        {
            return null;
        }

        // A run id is short: a file larger than this is not a run-id ConfigMap's value.
        var info = new FileInfo(path);
        if (info.Length > 4096)
        {
            throw new IOException($"{path} is {info.Length} bytes; a run trigger's value is at most 4096.");
        }

        var value = File.ReadAllText(path).Trim();
        return value.Length == 0 ? null : value;
    }

    [LoggerMessage(EventId = 1511, Level = LogLevel.Information, Message = "Watching the mounted run-id ConfigMap at {Directory} every {Seconds:0.#} s.")]
    private partial void LogPolling(string directory, double seconds);

    [LoggerMessage(EventId = 1512, Level = LogLevel.Warning, Message = "The mounted run-id ConfigMap at {Directory} cannot be read: {Reason}")]
    private partial void LogUnreadable(string directory, string reason);
}
