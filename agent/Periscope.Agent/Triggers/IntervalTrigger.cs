using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Periscope.Agent.Runs;
using Periscope.Bundle;

namespace Periscope.Agent.Triggers;

/// <summary>Collects every <see cref="TriggerOptions.Interval"/> (off by default); runs are named by their UTC start time.</summary>
internal sealed class IntervalTrigger(TriggerIntake intake, IOptions<TriggerOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Interval is not { } interval)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                intake.Submit(RunId.FromTime(time.GetUtcNow()), options.Value.IntervalCollectors, since: null, "interval");
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
