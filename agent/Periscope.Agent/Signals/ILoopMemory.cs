namespace Periscope.Agent.Signals;

/// <summary>
/// Gives back what the signal loop's passes touched (docs/performance.md, "Signal loop"). The loop calls it a
/// moment after a beat's passes, when none of its checks is still running; it is implemented where the agent's
/// memory between runs is managed, which knows whether a full run is in progress.
/// </summary>
internal interface ILoopMemory
{
    void ReleaseBetweenPasses();
}
