namespace Periscope.Agent.Collection;

/// <summary>Whether a collector can run on this node, and why not.</summary>
/// <param name="IsSupported">True when its component is present.</param>
/// <param name="Reason">What was found or missing, for a human.</param>
public sealed record CollectorSupport(bool IsSupported, string Reason)
{
    /// <summary>Supported, with what was found.</summary>
    public static CollectorSupport Supported(string reason) => new(true, reason);

    /// <summary>Not supported here, with what is missing.</summary>
    public static CollectorSupport Unsupported(string reason) => new(false, reason);
}
