using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Runs;

/// <summary>What became of a request to run: queued, known already, or refused for the reasons given.</summary>
internal sealed record IntakeResult(OfferResult? Offer, IReadOnlyList<string> Errors, RunTrigger? Trigger)
{
    [MemberNotNullWhen(true, nameof(Trigger), nameof(Offer))]
    public bool Valid => Trigger is not null;
}

/// <summary>
/// Where every trigger hands in a request: the contract's fields are checked (all problems at once), and a valid
/// request is offered to the <see cref="RunQueue"/>. The same invalid ConfigMap is seen on every relist and poll; its
/// problem is logged once, not on every look.
/// </summary>
internal sealed partial class TriggerIntake(RunQueue queue, IEnumerable<ICollector> collectors, ILogger<TriggerIntake> logger, TimeProvider? time = null)
{
    private readonly ILogger _logger = logger;
    private readonly Lock _lock = new();
    private string? _lastRefused;

    public IntakeResult Submit(string? runId, string? collectorNames, string? since, string source)
    {
        var trigger = RunTrigger.Parse(runId, collectorNames, since, source, collectors.Select(c => c.Name), (time ?? TimeProvider.System).GetUtcNow(), out var errors);
        if (trigger is null)
        {
            var key = $"{source}\n{runId}\n{collectorNames}\n{since}";
            lock (_lock)
            {
                if (key != _lastRefused)
                {
                    _lastRefused = key;
                    LogRefused(source, runId ?? string.Empty, string.Join(" ", errors));
                }
            }

            return new IntakeResult(null, errors, null);
        }

        var offer = queue.Offer(trigger);
        if (offer == OfferResult.Accepted)
        {
            LogAccepted(trigger.RunId.Value, source);
        }

        return new IntakeResult(offer, errors, trigger);
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Run {RunId} requested by the {Source} trigger.")]
    private partial void LogAccepted(string runId, string source);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "The {Source} trigger asked for run '{RunId}', refused: {Reasons}")]
    private partial void LogRefused(string source, string runId, string reasons);
}
