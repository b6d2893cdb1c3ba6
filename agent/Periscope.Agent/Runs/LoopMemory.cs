using Periscope.Agent.Signals;

namespace Periscope.Agent.Runs;

/// <summary>
/// The agent's memory between the signal loop's passes (<see cref="IdleMemory.ReleaseBetweenPasses"/>); nothing while
/// a full run is in progress: the run is using what it touched, and gives it back when it ends.
/// </summary>
internal sealed class LoopMemory(RunQueue queue) : ILoopMemory
{
    public void ReleaseBetweenPasses()
    {
        if (queue.Current is null)
        {
            IdleMemory.ReleaseBetweenPasses();
        }
    }
}
