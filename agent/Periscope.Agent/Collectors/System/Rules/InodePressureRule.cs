using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.System.Rules;

/// <summary><c>INODE_PRESSURE</c>: free inodes below the threshold (filesystems with a fixed inode table only).</summary>
internal static class InodePressureRule
{
    public static Observation? Check(CollectionContext context, string path, string role, string mount, FileSystemUsage usage, SystemCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(options);

        // Filesystems without a fixed inode table (btrfs, some overlays) report 0 inodes: nothing to judge.
        if (usage.Inodes <= 0)
        {
            return null;
        }

        var inodesPercent = 100.0 * usage.InodesFree / usage.Inodes;
        if (!(inodesPercent < options.InodesFreeThresholdPercent))
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.InodePressure, Severity.Critical, $"{mount} is running out of inodes",
            new FindingSubject(SubjectKind.File, mount),
            $"{usage.InodesFree} of {usage.Inodes} inodes free ({inodesPercent:0.#}%; threshold {options.InodesFreeThresholdPercent}%) on the filesystem holding {path}.",
            new EvidenceReference(context.Output.BundlePath("filesystems.txt"), null),
            ("path", path), ("role", role), ("inodesFree", usage.InodesFree), ("inodes", usage.Inodes));
    }
}
