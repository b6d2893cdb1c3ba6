using System.Globalization;
using System.Text.Json;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Azure;

/// <summary>
/// Parsing of the Instance Metadata Service's documents. Property names are matched without regard to case (the
/// documented samples write both <c>Priority</c> and <c>priority</c>). Compute values are strings, "" when absent;
/// only a fixed set of fields is kept — <c>publicKeys</c>, <c>userData</c>, <c>osProfile</c>, tags and anything else
/// are never copied, so nothing secret reaches a bundle. In scheduled events <c>DocumentIncarnation</c> and
/// <c>DurationInSeconds</c> are integers and <c>Resources</c> an array.
/// </summary>
internal static class InstanceMetadata
{
    public const string ComputePath = "metadata/instance/compute?api-version=2025-04-07";
    public const string ScheduledEventsPath = "metadata/scheduledevents?api-version=2020-07-01";

    /// <summary>Most bytes of a metadata answer read.</summary>
    public const int MaxDocumentBytes = 1024 * 1024;

    public static AzureComputeFacts ParseCompute(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("the compute document is not a JSON object");
        }

        return new AzureComputeFacts
        {
            Name = Text(root, "name"),
            VmId = Text(root, "vmId"),
            VmSize = Text(root, "vmSize"),
            Location = Text(root, "location"),
            Zone = Text(root, "zone"),
            Priority = Text(root, "priority"),
            EvictionPolicy = Text(root, "evictionPolicy"),
            VmScaleSetName = Text(root, "vmScaleSetName"),
            ResourceGroupName = Text(root, "resourceGroupName"),
            SubscriptionId = Text(root, "subscriptionId"),
            ResourceId = Text(root, "resourceId"),
            OsType = Text(root, "osType"),
            Publisher = Text(root, "publisher"),
            Offer = Text(root, "offer"),
            Sku = Text(root, "sku"),
            Version = Text(root, "version"),
            PlacementGroupId = Text(root, "placementGroupId"),
            PlatformFaultDomain = Text(root, "platformFaultDomain"),
            PlatformUpdateDomain = Text(root, "platformUpdateDomain"),
        };
    }

    /// <param name="json">The scheduled events document.</param>
    /// <param name="vmName">This VM's compute name (an event applies to it when its resources name it); null when unknown.</param>
    /// <param name="readAt">When it was read.</param>
    public static AzureScheduledEventsFacts ParseScheduledEvents(string json, string? vmName, DateTimeOffset readAt)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("the scheduled events document is not a JSON object");
        }

        var events = new List<AzureScheduledEvent>();
        if (Property(root, "Events") is { ValueKind: JsonValueKind.Array } list)
        {
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                var resources = new List<string>();
                if (Property(item, "Resources") is { ValueKind: JsonValueKind.Array } names)
                {
                    resources.AddRange(names.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()!));
                }

                events.Add(new AzureScheduledEvent
                {
                    EventId = Text(item, "EventId") ?? "",
                    EventType = Text(item, "EventType") ?? "",
                    EventStatus = Text(item, "EventStatus"),
                    Resources = resources,
                    ThisVm = vmName is not null && resources.Contains(vmName, StringComparer.OrdinalIgnoreCase),
                    NotBefore = NotBefore(Text(item, "NotBefore")),
                    DurationSeconds = Integer(item, "DurationInSeconds") is > 0 and var seconds ? seconds : null,
                    Description = Text(item, "Description"),
                    EventSource = Text(item, "EventSource"),
                });
            }
        }

        return new AzureScheduledEventsFacts
        {
            ReadAt = readAt,
            DocumentIncarnation = Integer(root, "DocumentIncarnation") ?? 0,
            Events = events,
        };
    }

    /// <summary><c>NotBefore</c> is an HTTP date (<c>Mon, 19 Sep 2016 18:29:47 GMT</c>), empty once the event started.</summary>
    internal static DateTimeOffset? NotBefore(string? text)
        => text is not null && (DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var at)
            || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at))
            ? at : null;

    private static JsonElement? Property(JsonElement element, string name)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    /// <summary>A value as text ("" and null are absent; a number or boolean, though documented as a string, is taken as written).</summary>
    private static string? Text(JsonElement element, string name)
        => Property(element, name) switch
        {
            { ValueKind: JsonValueKind.String } value => value.GetString() is { Length: > 0 } text ? text : null,
            { ValueKind: JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False } value => value.GetRawText(),
            _ => null,
        };

    private static long? Integer(JsonElement element, string name)
        => Property(element, name) switch
        {
            { ValueKind: JsonValueKind.Number } value when value.TryGetInt64(out var number) => number,
            { ValueKind: JsonValueKind.String } value when long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => number,
            _ => null,
        };
}
