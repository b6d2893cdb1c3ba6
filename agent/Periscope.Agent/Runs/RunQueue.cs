using System.Threading.Channels;
using Periscope.Bundle;

namespace Periscope.Agent.Runs;

/// <summary>What became of a trigger offered to the queue.</summary>
internal enum OfferResult
{
    /// <summary>Queued: it runs after the run in progress, if any.</summary>
    Accepted,

    /// <summary>This node has collected (or tried) this run id before; it is not run again.</summary>
    AlreadyRun,

    /// <summary>The run id is queued or running already.</summary>
    AlreadyQueued,

    /// <summary>The queue holds <see cref="RunQueue.Capacity"/> runs already: offer it again later.</summary>
    Full,
}

/// <summary>
/// The one queue every trigger feeds and the run service drains, one run at a time. A run id is offered by many
/// triggers and many times (each relist of the ConfigMap, each poll of its mounted files, a retried POST): the queue
/// and the <see cref="RunHistory"/> make sure it runs once.
/// </summary>
internal sealed class RunQueue(RunHistory history, TimeProvider? time = null)
{
    /// <summary>Most distinct run ids waiting at once (a flood of new ids is refused past it, not held without limit).</summary>
    public const int Capacity = 16;

    private readonly Channel<RunTrigger> _channel = Channel.CreateUnbounded<RunTrigger>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<RunId> _pending = [];
    private readonly Lock _lock = new();
    public ChannelReader<RunTrigger> Reader => _channel.Reader;

    public RunHistory History => history;

    /// <summary>The run id being collected now, if any.</summary>
    public RunId? Current { get; private set; }

    public OfferResult Offer(RunTrigger trigger)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        lock (_lock)
        {
            if (!history.MayRun(trigger.RunId, (time ?? TimeProvider.System).GetUtcNow()))
            {
                return OfferResult.AlreadyRun;
            }

            if (_pending.Contains(trigger.RunId))
            {
                return OfferResult.AlreadyQueued;
            }

            if (_pending.Count >= Capacity)
            {
                return OfferResult.Full;
            }

            _pending.Add(trigger.RunId);
        }

        _channel.Writer.TryWrite(trigger);
        return OfferResult.Accepted;
    }

    public bool IsPending(RunId runId)
    {
        lock (_lock)
        {
            return _pending.Contains(runId);
        }
    }

    /// <summary>Called by the run service when it takes a trigger off the queue.</summary>
    public void Started(RunId runId)
    {
        lock (_lock)
        {
            Current = runId;
        }
    }

    /// <summary>
    /// Records how a run ended and takes it off the queue in one step, so that a trigger offered meanwhile sees either
    /// the run still queued or its end — never a run that has ended but still counts as queued (and would be dropped).
    /// </summary>
    public void End(RunId runId, RunState state, string? detail, DateTimeOffset now, DateTimeOffset? retryAfter = null)
    {
        lock (_lock)
        {
            history.End(runId, state, detail, now, retryAfter);
            _pending.Remove(runId);
        }
    }

    /// <summary>Called by the run service when the run has ended and is in the history.</summary>
    public void Finished(RunId runId)
    {
        lock (_lock)
        {
            _pending.Remove(runId);
            Current = null;
        }
    }
}
