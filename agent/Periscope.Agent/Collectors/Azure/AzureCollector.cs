using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.Azure.Rules;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Azure;

/// <summary>
/// Azure's view of this VM, from the Instance Metadata Service: the compute document (name, size, zone, priority,
/// scale set; a fixed set of fields, never keys or user data) and the scheduled events (maintenance Azure is about to
/// do to it). Whether the node is an Azure VM is decided from DMI under the host root; off Azure the collector is
/// skipped and sends nothing. A replay (offline run) asks nothing. Scheduled events come from
/// <see cref="ScheduledEventsSource"/>: the collector waits <see cref="AzureCollectorOptions.EventsWait"/> at most for a
/// read (the first one can take two minutes), and otherwise records that they are not yet available.
/// </summary>
internal sealed class AzureCollector(InstanceMetadataClient client, ScheduledEventsSource events, IOptions<AzureCollectorOptions> options) : ICollector
{
    public const string ComputeFile = "compute.json";
    public const string EventsFile = "scheduledevents.json";

    public string Name => "azure"; // bundle folder + config key: never rename

    public string Description => "Azure Instance Metadata Service: the VM's compute identity and its scheduled events (only where DMI says Azure).";

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        var dmi = DmiIdentity.Read(host);
        return dmi.IsAzure ? CollectorSupport.Supported(dmi.Describe()) : CollectorSupport.Unsupported(dmi.Describe());
    }

    public async Task CollectAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var dmi = DmiIdentity.Read(context.Host);
        var endpoint = client.Endpoint.GetLeftPart(UriPartial.Authority);
        if (context.Offline)
        {
            context.Output.SetFacts(new AzureFacts { DmiVendor = dmi.Vendor, ChassisAssetTag = dmi.ChassisAssetTag, Endpoint = endpoint, Offline = true });
            return;
        }

        // Both reads start together: the events read may be the slow first one.
        var reading = events.RefreshAsync();
        AzureComputeFacts? compute = null;
        string? computeError = null;
        try
        {
            compute = InstanceMetadata.ParseCompute(await client.GetAsync(InstanceMetadata.ComputePath, o.RequestTimeout, cancellationToken));
            await context.Output.WriteJsonAsync(ComputeFile, compute, Periscope.Bundle.BundleJsonContext.Default.AzureComputeFacts, cancellationToken);
            Observations.Report(context, AzureRules.Spot(context, compute, context.Output.BundlePath(ComputeFile)));
        }
        catch (Exception ex) when (ex is InstanceMetadataException or global::System.Text.Json.JsonException)
        {
            computeError = ex.Message;
            context.Output.MarkPartial($"compute: {ex.Message}");
            if (ex is InstanceMetadataException)
            {
                context.Output.Report(AzureRules.Unreachable(context, endpoint, ex.Message));
            }
        }

        // A refused or hung service has already cost the compute read its deadline: the events read fails the same way.
        var wait = computeError is null ? o.EventsWait : TimeSpan.Zero;
        try
        {
            await reading.WaitAsync(wait, context.Time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Still in flight: it goes on in the background for the next run.
        }

        AzureScheduledEventsFacts? scheduled = null;
        string? eventsError;
        if (events.Latest is { } latest)
        {
            try
            {
                scheduled = InstanceMetadata.ParseScheduledEvents(latest.Json, compute?.Name, latest.ReadAt);
                await context.Output.WriteTextAsync(EventsFile, latest.Json, cancellationToken);
                foreach (var item in scheduled.Events)
                {
                    Observations.Report(context, AzureRules.ScheduledEvent(context, item, context.Output.BundlePath(EventsFile)));
                }

                eventsError = compute is null ? "this VM's name is unknown (no compute document): no event could be matched to it" : null;
            }
            catch (global::System.Text.Json.JsonException ex)
            {
                eventsError = $"the scheduled events document is not valid JSON: {ex.Message}";
            }
        }
        else
        {
            eventsError = reading.IsCompleted
                ? events.LastError ?? "scheduled events could not be read"
                : $"scheduled events not yet available: the first read after a day without one can take up to two minutes (waited {wait.TotalSeconds:0.#} s; the read goes on for the next run)";
        }

        if (eventsError is not null)
        {
            context.Output.MarkPartial($"scheduled events: {eventsError}");
        }

        context.Output.SetFacts(new AzureFacts
        {
            DmiVendor = dmi.Vendor,
            ChassisAssetTag = dmi.ChassisAssetTag,
            Endpoint = endpoint,
            Compute = compute,
            ComputeError = computeError,
            ScheduledEvents = scheduled,
            ScheduledEventsError = eventsError,
        });
    }
}
