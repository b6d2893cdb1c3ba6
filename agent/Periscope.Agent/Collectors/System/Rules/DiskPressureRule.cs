using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.System.Rules;

/// <summary><c>DISK_PRESSURE</c>: free space below the kubelet's threshold for the filesystem's role (nodefs or imagefs).</summary>
internal static class DiskPressureRule
{
    public static Observation? Check(CollectionContext context, string path, string role, string mount, FileSystemUsage usage, double thresholdPercent)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var availablePercent = 100.0 * usage.AvailableBytes / usage.SizeBytes;
        if (!(availablePercent < thresholdPercent))
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.DiskPressure, Severity.Critical, $"{mount} is nearly full",
            new FindingSubject(SubjectKind.File, mount),
            $"{Units.Mib(usage.AvailableBytes)} of {Units.Mib(usage.SizeBytes)} free ({availablePercent:0.#}%; threshold {thresholdPercent}%) on the filesystem holding {path}.",
            new EvidenceReference(context.Output.BundlePath("filesystems.txt"), null),
            ("path", path), ("role", role), ("availableBytes", usage.AvailableBytes), ("sizeBytes", usage.SizeBytes));
    }
}
