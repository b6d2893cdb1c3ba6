using System.Globalization;
using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Azure.Rules;

/// <summary>The <c>azure</c> collector's findings: scheduled maintenance on this VM, a Spot VM, an unreachable metadata service.</summary>
internal static class AzureRules
{
    /// <summary>
    /// <c>AZURE_EVENT_SCHEDULED</c> for an event whose resources name this VM: critical for Preempt, Terminate and
    /// Redeploy (the VM goes away or moves, its local disks with it), warning for Reboot and Freeze (it comes back).
    /// </summary>
    public static Observation? ScheduledEvent(CollectionContext context, AzureScheduledEvent scheduled, string evidenceFile)
    {
        ArgumentNullException.ThrowIfNull(scheduled);
        if (!scheduled.ThisVm)
        {
            return null;
        }

        var type = scheduled.EventType;
        var severity = type is "Preempt" or "Terminate" or "Redeploy" ? Severity.Critical : Severity.Warning;
        var when = scheduled.NotBefore is { } notBefore
            ? $"not before {UtcTimestampConverter.Format(notBefore)}"
            : scheduled.EventStatus is "Started" ? "started" : "time not given";
        var what = type switch
        {
            "Preempt" => "Azure is evicting this Spot VM (about 30 s notice).",
            "Terminate" => "Azure is deleting this VM.",
            "Redeploy" => "Azure is moving this VM to another host: it restarts there and its temporary disk is lost.",
            "Reboot" => "Azure is rebooting this VM.",
            "Freeze" => "Azure is pausing this VM for host maintenance (usually seconds).",
            _ => $"Azure scheduled a {type} event for this VM.",
        };
        var aks = type is "Preempt" or "Redeploy"
            ? " On AKS the platform cordons and drains the node itself for this event; nothing needs to be done by hand."
            : string.Empty;
        var duration = scheduled.DurationSeconds is { } seconds ? $" Expected impact: {seconds} s." : string.Empty;
        return Observations.Of(context, FindingCodes.AzureEventScheduled, severity,
            $"Azure {type} event scheduled for this VM ({when})",
            Observations.Node(context),
            $"{what}{duration}{aks}{(scheduled.Description is { } description ? " Azure says: " + description : string.Empty)}",
            new EvidenceReference(evidenceFile, null),
            ("eventId", scheduled.EventId), ("eventType", type), ("eventStatus", scheduled.EventStatus), ("eventSource", scheduled.EventSource),
            ("notBefore", scheduled.NotBefore is { } at ? UtcTimestampConverter.Format(at) : null),
            ("durationSeconds", scheduled.DurationSeconds?.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary><c>SPOT_NODE</c> (info): the VM can be evicted whenever Azure needs the capacity, so losses of it are expected.</summary>
    public static Observation? Spot(CollectionContext context, AzureComputeFacts compute, string evidenceFile)
    {
        ArgumentNullException.ThrowIfNull(compute);
        return string.Equals(compute.Priority, "Spot", StringComparison.OrdinalIgnoreCase)
            ? Observations.Of(context, FindingCodes.SpotNode, Severity.Info, "This node is an Azure Spot VM",
                Observations.Node(context),
                $"Azure evicts Spot VMs with about 30 s notice whenever it needs the capacity (eviction policy {compute.EvictionPolicy ?? "unknown"}): an abrupt loss of this node is expected, not a fault.",
                new EvidenceReference(evidenceFile, null),
                ("vmSize", compute.VmSize), ("evictionPolicy", compute.EvictionPolicy))
            : null;
    }

    /// <summary><c>AZURE_IMDS_UNREACHABLE</c>: on an Azure VM (DMI), the metadata service refused, failed or did not answer.</summary>
    public static Observation Unreachable(CollectionContext context, string endpoint, string error)
        => Observations.Of(context, FindingCodes.AzureImdsUnreachable, Severity.Warning,
            "The Azure Instance Metadata Service does not answer from this node",
            new FindingSubject(SubjectKind.Server, endpoint),
            $"{error}. The node cannot learn of scheduled maintenance (evictions, reboots, redeploys), and components that "
            + "read their identity or tokens from it (the kubelet's credential provider, workload identity's fallback) fail. "
            + "Likely causes: AKS's IMDS restriction (it blocks pods that are not on the host network), a network policy or "
            + "firewall rule for 169.254.169.254, or an HTTP proxy taking the link-local address.",
            null, ("endpoint", endpoint));
}
