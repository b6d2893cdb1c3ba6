using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.Azure;

/// <summary>
/// The scheduled events document, read once at a time and kept. The first read after a day without one can take up to
/// two minutes (the service is being enabled for the VM), so a read runs on its own deadline
/// (<see cref="AzureCollectorOptions.FirstEventsTimeout"/> until one has been answered, then the normal one), detached
/// from whoever asked: a run's collector waits only a short while for it and a later run finds the answer here. In
/// the long-running agent <see cref="ScheduledEventsPoller"/> keeps it fresh between runs.
/// </summary>
internal sealed class ScheduledEventsSource(InstanceMetadataClient client, IOptions<AzureCollectorOptions> options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private Task? _reading;
    private bool _answered;

    /// <summary>The last document read, and when.</summary>
    public (string Json, DateTimeOffset ReadAt)? Latest { get; private set; }

    /// <summary>Why the last read failed, when it did (cleared by the next success).</summary>
    public string? LastError { get; private set; }

    /// <summary>Starts a read, or joins the one in flight. The task never faults.</summary>
    public Task RefreshAsync()
    {
        lock (_lock)
        {
            if (_reading is { IsCompleted: false } reading)
            {
                return reading;
            }

            _reading = ReadAsync();
            return _reading;
        }
    }

    private async Task ReadAsync()
    {
        var timeout = Volatile.Read(ref _answered) ? options.Value.RequestTimeout : options.Value.FirstEventsTimeout;
        try
        {
            var json = await client.GetAsync(InstanceMetadata.ScheduledEventsPath, timeout, CancellationToken.None).ConfigureAwait(false);
            Latest = (json, time.GetUtcNow());
            LastError = null;
            Volatile.Write(ref _answered, true);
        }
        catch (InstanceMetadataException ex)
        {
            LastError = ex.Message;
        }
    }
}
