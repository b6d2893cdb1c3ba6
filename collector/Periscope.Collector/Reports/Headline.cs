using Periscope.Bundle;
using Periscope.Collector.Correlation;

namespace Periscope.Collector.Reports;

/// <summary>
/// The report's first sentence, before any table: what is wrong where, e.g. "3 of 8 nodes critical: out-of-memory
/// kills on 2 nodes of pool nodepool1; CPU lockups on 1 node (aks-nodepool2-1-vmss000001).". Built from the report
/// alone (its shared findings, nodes and correlations), the same in HTML and Markdown.
/// </summary>
internal static class Headline
{
    private const int MaxCauses = 3;

    private static readonly Dictionary<string, string> Phrases = new(StringComparer.Ordinal)
    {
        ["KERNEL_OOM_KILL"] = "out-of-memory kills",
        ["KERNEL_OOM_NO_VICTIM"] = "memory exhausted with no OOM victim",
        ["CONTAINER_OOMKILLED"] = "containers killed at their memory limit",
        ["KERNEL_SOFT_LOCKUP"] = "CPU lockups",
        ["KERNEL_HUNG_TASK"] = "hung kernel tasks",
        ["KERNEL_RCU_STALL"] = "RCU stalls",
        ["KERNEL_OOPS"] = "kernel oopses",
        ["FS_EXT4_ERROR"] = "ext4 errors",
        ["FS_READONLY"] = "filesystems remounted read-only",
        ["FS_READONLY_MOUNT"] = "read-only mounts",
        ["FS_XFS_SHUTDOWN"] = "XFS shutdowns",
        ["DISK_IO_ERROR"] = "disk I/O errors",
        ["DISK_REMOVED"] = "failed disks",
        ["CONNTRACK_TABLE_FULL"] = "a full conntrack table",
        ["MEMORY_PRESSURE"] = "memory pressure",
        ["DISK_PRESSURE"] = "disk pressure",
        ["INODE_PRESSURE"] = "inode pressure",
        ["PID_PRESSURE"] = "PID pressure",
        ["RUNTIME_UNREACHABLE"] = "the container runtime not answering",
        ["RUNTIME_NOT_READY"] = "the container runtime not ready",
        ["RUNTIME_NETWORK_NOT_READY"] = "the runtime's network not ready",
        ["CONTAINER_CRASHLOOP"] = "crash-looping containers",
        ["KUBELET_NOT_RUNNING"] = "no kubelet running",
        ["KUBELET_UNHEALTHY"] = "an unhealthy kubelet",
        ["KUBELET_CERT_EXPIRED"] = "an expired kubelet certificate",
        ["KUBELET_CERT_EXPIRING"] = "a kubelet certificate about to expire",
        ["DNS_NO_NAMESERVERS"] = "no name servers configured",
        ["DNS_TIMEOUT"] = "DNS timeouts",
        ["DNS_SERVFAIL"] = "DNS SERVFAIL answers",
        ["DNS_CLUSTER_NAME_FAILS"] = "cluster DNS failing",
        ["CNI_CONFIG_MISSING"] = "no CNI configuration",
        ["CNI_PLUGIN_MISSING"] = "missing CNI plugins",
        ["CNI_IP_EXHAUSTION"] = "pod IP addresses running out",
        ["AZURE_EVENT_SCHEDULED"] = "Azure maintenance scheduled",
        ["NODE_MISSING"] = "no bundle",
    };

    /// <summary>A few words for a finding code (its own words where none are written).</summary>
    public static string Phrase(string code)
        => Phrases.TryGetValue(code, out var phrase) ? phrase : code.Replace('_', ' ').ToLowerInvariant();

    public static string Of(HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var s = report.Summary;
        if (s.Nodes == 0)
        {
            return "No node sent a bundle for this run.";
        }

        var missing = report.Correlations.Where(c => c.Code == "NODE_MISSING").SelectMany(c => c.Nodes).Distinct(StringComparer.Ordinal).Count();
        var missingText = missing == 0 ? string.Empty : $" {missing} expected {Nodes(missing)} sent nothing.";
        var unreadable = s.Rejected + s.Incomplete;
        var unreadableText = unreadable == 0 ? string.Empty : $" {unreadable} {(unreadable == 1 ? "bundle" : "bundles")} could not be read.";
        var (level, count) = s.Critical > 0 ? (Severity.Critical, s.Critical) : s.Warning > 0 ? (Severity.Warning, s.Warning) : (Severity.Info, 0);
        if (level == Severity.Info)
        {
            var readable = s.Nodes - unreadable;
            return $"{(readable == s.Nodes ? "All" : $"{readable} of")} {s.Nodes} {Nodes(s.Nodes)} healthy.{unreadableText}{missingText}".Trim();
        }

        var pools = report.Nodes.Where(n => n.Pool is not null).ToDictionary(n => n.Node, n => n.Pool!, StringComparer.Ordinal);
        var causes = report.Findings.Where(f => f.Severity == level).Take(MaxCauses).Select(f => Cause(f, pools)).ToList();
        var more = report.Findings.Count(f => f.Severity == level) - causes.Count;
        var what = level == Severity.Critical ? "critical" : "with warnings";
        return $"{count} of {s.Nodes} {Nodes(s.Nodes)} {what}: {string.Join("; ", causes)}{(more > 0 ? $"; and {more} more" : string.Empty)}.{unreadableText}{missingText}";
    }

    private static string Cause(SharedFinding finding, Dictionary<string, string> pools)
    {
        var where = finding.Nodes.Select(n => pools.GetValueOrDefault(n)).Distinct(StringComparer.Ordinal).ToList();
        var place = where is [{ } pool] ? $" of pool {pool}"
            : where.Count > 1 && where.All(p => p is not null) ? $" in pools {string.Join(", ", where.Order(StringComparer.Ordinal))}"
            : finding.NodeCount == 1 ? $" ({finding.Nodes[0]})"
            : string.Empty;
        return $"{Phrase(finding.Code)} on {finding.NodeCount} {Nodes(finding.NodeCount)}{place}";
    }

    private static string Nodes(int count) => count == 1 ? "node" : "nodes";
}
