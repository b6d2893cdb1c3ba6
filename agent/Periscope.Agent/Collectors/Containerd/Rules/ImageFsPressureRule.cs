using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Containerd.Rules;

/// <summary><c>IMAGEFS_PRESSURE</c>: the filesystem of an image store the runtime reports is below the free-space threshold.</summary>
internal static class ImageFsPressureRule
{
    /// <param name="context">The run.</param>
    /// <param name="server">The runtime's socket, named in the attributes.</param>
    /// <param name="mountpoint">The image filesystem the runtime reports.</param>
    /// <param name="imagesUsedBytes">What its images use, as the runtime reports it.</param>
    /// <param name="usage">statvfs of that mountpoint on the node, when measured.</param>
    /// <param name="options">The threshold.</param>
    public static Observation? Check(
        CollectionContext context, FindingSubject server, string mountpoint, ulong? imagesUsedBytes, FileSystemUsage? usage, ContainerdCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(options);
        if (usage is not { SizeBytes: > 0 })
        {
            return null;
        }

        var percent = 100.0 * usage.AvailableBytes / usage.SizeBytes;
        if (!(percent < options.ImageFsAvailableThresholdPercent))
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.ImageFsPressure, Severity.Warning, "The runtime's image filesystem is nearly full",
            new FindingSubject(SubjectKind.File, mountpoint),
            $"{mountpoint}: {percent:0.#}% free (threshold {options.ImageFsAvailableThresholdPercent}%); images use {imagesUsedBytes} bytes.",
            new EvidenceReference(context.Output.BundlePath("imagefs.json"), null),
            ("availableBytes", usage.AvailableBytes), ("sizeBytes", usage.SizeBytes), ("server", server.Id));
    }
}
