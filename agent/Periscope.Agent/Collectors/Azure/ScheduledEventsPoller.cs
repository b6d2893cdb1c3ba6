using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;

namespace Periscope.Agent.Collectors.Azure;

/// <summary>
/// The long-running agent reads scheduled events between runs (every
/// <see cref="AzureCollectorOptions.EventsPollInterval"/>), so that the slow first read is done long before a run
/// needs it and a run's <c>azure</c> collector reads a document no older than that. Only on an Azure VM (DMI): off
/// Azure nothing is ever sent to the metadata address.
/// </summary>
internal sealed class ScheduledEventsPoller(ScheduledEventsSource source, INodeFileSystem host, IOptions<AzureCollectorOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.EventsPollInterval;
        if (interval <= TimeSpan.Zero || !DmiIdentity.Read(host).IsAzure)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                await source.RefreshAsync().WaitAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
