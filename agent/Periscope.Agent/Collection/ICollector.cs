namespace Periscope.Agent.Collection;

/// <summary>
/// A collector: one type per component of the node (<c>system</c>, <c>kernel</c>, ...). It reads the host only
/// through <see cref="CollectionContext.Host"/> and <see cref="CollectionContext.Commands"/>, writes evidence, facts
/// and findings to <see cref="CollectionContext.Output"/>, and is cancelled when its deadline passes. Throwing is
/// allowed (the runner records it as failed), but expected outcomes such as a missing file are data, not exceptions.
/// </summary>
public interface ICollector
{
    /// <summary>Short permanent name: the bundle folder, config key and <c>--collectors</c> value.</summary>
    string Name { get; }

    /// <summary>One line saying what it collects.</summary>
    string Description { get; }

    /// <summary>
    /// Whether the component it reads exists on this node. A collector whose component is absent is skipped with
    /// the reason; it is not a failure.
    /// </summary>
    CollectorSupport CheckSupport(INodeFileSystem host);

    /// <summary>Collects. Must honour <paramref name="cancellationToken"/> (the collector's deadline).</summary>
    Task CollectAsync(CollectionContext context, CancellationToken cancellationToken);
}
