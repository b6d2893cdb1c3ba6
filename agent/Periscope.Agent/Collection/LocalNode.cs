namespace Periscope.Agent.Collection;

/// <summary>
/// This node's name for the parts of the long-running agent that speak for it (the conditions, the events,
/// <c>/v1/signals</c>): the configured name, else <c>NODE_NAME</c>, else the host's hostname; resolved once (two
/// callers racing at start resolve the same name twice, harmlessly).
/// </summary>
internal sealed class LocalNode(INodeFileSystem host, string? configured)
{
    private string? _name;

    public async Task<string> NameAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _name) is { } known)
        {
            return known;
        }

        var name = await NodeIdentityResolver.ResolveNameAsync(configured, host, cancellationToken);
        Volatile.Write(ref _name, name);
        return name;
    }
}
