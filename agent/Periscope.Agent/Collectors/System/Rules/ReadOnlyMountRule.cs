using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.System.Rules;

/// <summary><c>FS_READONLY_MOUNT</c>: a directory the kubelet, the runtime or the logs need, on a read-only mount.</summary>
internal static class ReadOnlyMountRule
{
    public static Observation? Check(CollectionContext context, string path, string role, bool exists, ProcParsers.MountEntry? mount)
    {
        if (mount is not { ReadOnly: true } || !exists)
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.FsReadOnlyMount, Severity.Critical, $"{mount.MountPoint} is mounted read-only",
            new FindingSubject(SubjectKind.File, mount.MountPoint),
            $"{path} ({role}) lives on {mount.Device} at {mount.MountPoint} ({mount.FsType}), mounted read-only.",
            new EvidenceReference(context.Output.BundlePath("mounts"), mount.Line),
            ("path", path), ("role", role), ("device", mount.Device));
    }
}
