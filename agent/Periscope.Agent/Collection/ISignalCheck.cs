namespace Periscope.Agent.Collection;

/// <summary>
/// A cheap check the signal loop runs between full runs (docs/signals.md): it reports observations with the same rule
/// types as its collector, writes no evidence, and seals no bundle. Lives in its collector's folder, registered like a
/// collector. A check may keep state between passes (a kernel log watermark), so it is a singleton and each pass is
/// awaited before the next starts.
/// </summary>
public interface ISignalCheck
{
    /// <summary>Its name, <c>collector.what</c> (<c>containerd.status</c>).</summary>
    string Name { get; }

    /// <summary>
    /// The codes whose absence a pass proves when it completes (not partial): only they clear. A code the check does
    /// not look for is never cleared by it.
    /// </summary>
    IReadOnlyCollection<string> Covers { get; }

    /// <summary>Whether it can run here; an unsupported check runs not at all and proves nothing (absent is not broken).</summary>
    CollectorSupport CheckSupport(INodeFileSystem host);

    /// <summary>One pass: reports through <see cref="CollectionContext.Output"/> (a <see cref="SignalCheckOutput"/>).</summary>
    Task CheckAsync(CollectionContext context, CancellationToken cancellationToken);
}
