using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>
/// The <c>azure</c> collector's view: whether the node is an Azure VM (from DMI, never from the metadata service's
/// silence), what the Instance Metadata Service says about it, and the maintenance Azure has scheduled for it.
/// </summary>
public sealed record AzureFacts
{
    /// <summary>DMI <c>sys_vendor</c> (<c>Microsoft Corporation</c> on Azure and Hyper-V).</summary>
    public string? DmiVendor { get; init; }

    /// <summary>DMI <c>chassis_asset_tag</c>: Azure's own tag marks an Azure VM.</summary>
    public string? ChassisAssetTag { get; init; }

    /// <summary>The metadata service's address the collector asked.</summary>
    public string? Endpoint { get; init; }

    /// <summary>True when the run replayed a captured node: the metadata service was not asked.</summary>
    [JsonRequired]
    public bool Offline { get; init; }

    /// <summary>The VM as the metadata service describes it (a fixed set of fields; keys and user data are never read).</summary>
    public AzureComputeFacts? Compute { get; init; }

    /// <summary>Why the compute document could not be read, when it could not.</summary>
    public string? ComputeError { get; init; }

    /// <summary>Scheduled events as last read.</summary>
    public AzureScheduledEventsFacts? ScheduledEvents { get; init; }

    /// <summary>Why scheduled events are not known, when they are not (not yet available, refused, timed out).</summary>
    public string? ScheduledEventsError { get; init; }
}

/// <summary>The compute document's fields Periscope keeps (IMDS gives strings; empty ones are left out).</summary>
public sealed record AzureComputeFacts
{
    /// <summary>The VM's name (a scale set instance: <c>aks-nodepool1-12345678-vmss_3</c>); scheduled events name it.</summary>
    public string? Name { get; init; }

    /// <summary>The VM's unique id.</summary>
    public string? VmId { get; init; }

    /// <summary>The VM size (<c>Standard_D4s_v5</c>).</summary>
    public string? VmSize { get; init; }

    /// <summary>The Azure region.</summary>
    public string? Location { get; init; }

    /// <summary>The availability zone (<c>1</c>), empty when none.</summary>
    public string? Zone { get; init; }

    /// <summary><c>Regular</c> or <c>Spot</c>.</summary>
    public string? Priority { get; init; }

    /// <summary>A Spot VM's eviction policy (<c>Deallocate</c> or <c>Delete</c>).</summary>
    public string? EvictionPolicy { get; init; }

    /// <summary>The scale set the VM is an instance of.</summary>
    public string? VmScaleSetName { get; init; }

    /// <summary>The VM's resource group (on AKS the node resource group).</summary>
    public string? ResourceGroupName { get; init; }

    /// <summary>The subscription.</summary>
    public string? SubscriptionId { get; init; }

    /// <summary>The VM's full resource id.</summary>
    public string? ResourceId { get; init; }

    /// <summary><c>Linux</c> or <c>Windows</c>.</summary>
    public string? OsType { get; init; }

    /// <summary>The OS image's publisher.</summary>
    public string? Publisher { get; init; }

    /// <summary>The OS image's offer.</summary>
    public string? Offer { get; init; }

    /// <summary>The OS image's SKU.</summary>
    public string? Sku { get; init; }

    /// <summary>The OS image version.</summary>
    public string? Version { get; init; }

    /// <summary>The placement group: scheduled events list the VMs of one group.</summary>
    public string? PlacementGroupId { get; init; }

    /// <summary>The fault domain.</summary>
    public string? PlatformFaultDomain { get; init; }

    /// <summary>The update domain.</summary>
    public string? PlatformUpdateDomain { get; init; }
}

/// <summary>The scheduled events document.</summary>
public sealed record AzureScheduledEventsFacts
{
    /// <summary>When it was read from the metadata service (a long-running agent polls in the background).</summary>
    [JsonRequired]
    public DateTimeOffset ReadAt { get; init; }

    /// <summary>The document's incarnation: changes whenever its events change.</summary>
    [JsonRequired]
    public long DocumentIncarnation { get; init; }

    /// <summary>Every event in the document, for this VM or another in its placement group.</summary>
    [JsonRequired]
    public IReadOnlyList<AzureScheduledEvent> Events { get; init; } = [];
}

/// <summary>One scheduled event.</summary>
public sealed record AzureScheduledEvent
{
    /// <summary>The event's id.</summary>
    [JsonRequired]
    public string EventId { get; init; } = "";

    /// <summary><c>Freeze</c>, <c>Reboot</c>, <c>Redeploy</c>, <c>Preempt</c> or <c>Terminate</c>.</summary>
    [JsonRequired]
    public string EventType { get; init; } = "";

    /// <summary><c>Scheduled</c> or <c>Started</c>.</summary>
    public string? EventStatus { get; init; }

    /// <summary>The VMs it affects.</summary>
    [JsonRequired]
    public IReadOnlyList<string> Resources { get; init; } = [];

    /// <summary>True when <see cref="Resources"/> names this VM (the compute document's name).</summary>
    [JsonRequired]
    public bool ThisVm { get; init; }

    /// <summary>Not before this time (absent once the event has started).</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>Expected impact in seconds; absent when unknown (IMDS says -1 or 0).</summary>
    public long? DurationSeconds { get; init; }

    /// <summary>Azure's description of the event.</summary>
    public string? Description { get; init; }

    /// <summary><c>Platform</c> or <c>User</c>.</summary>
    public string? EventSource { get; init; }
}
