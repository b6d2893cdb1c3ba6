namespace Periscope.Agent.Collection;

/// <summary>Everything a collector may use during one run.</summary>
public sealed class CollectionContext
{
    /// <summary>The node's filesystem, through the host root.</summary>
    public required INodeFileSystem Host { get; init; }

    /// <summary>Runs host commands with a timeout and an output cap.</summary>
    public required IProcessRunner Commands { get; init; }

    /// <summary>Where the collector writes evidence, facts and findings.</summary>
    public required ICollectorOutput Output { get; init; }

    /// <summary>The node's name.</summary>
    public required string NodeName { get; init; }

    /// <summary>Start of the time window to collect.</summary>
    public required DateTimeOffset Since { get; init; }

    /// <summary>End of the time window to collect.</summary>
    public required DateTimeOffset Until { get; init; }

    /// <summary>
    /// True when replaying a captured node root: no live probe (network query, kernel clock, filesystem statistics
    /// of the real disk) may be made.
    /// </summary>
    public bool Offline { get; init; }

    /// <summary>The clock.</summary>
    public required TimeProvider Time { get; init; }
}
