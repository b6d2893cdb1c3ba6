namespace Periscope.Agent.Collection.Cri;

/// <summary>What a container image reference (a CRI image's repo tag or digest) says about where it is pulled from.</summary>
internal static class ImageReference
{
    /// <summary>Docker Hub's name in references, and the host its registry API answers on.</summary>
    public const string DockerHub = "docker.io";
    public const string DockerHubApi = "registry-1.docker.io";

    /// <summary>
    /// The registry of a reference, as <c>host</c> or <c>host:port</c>, lower case: its first path component when that
    /// names a host (holds a dot or a port, or is <c>localhost</c>), else Docker Hub (<c>busybox</c>,
    /// <c>library/busybox:1.36</c>); null for an empty reference or a bare image id.
    /// </summary>
    public static string? Registry(string? reference)
    {
        if (string.IsNullOrWhiteSpace(reference) || reference.StartsWith("sha256:", StringComparison.Ordinal))
        {
            return null;
        }

        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return DockerHub;
        }

        var first = reference[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"
            ? first.ToLowerInvariant()
            : DockerHub;
    }

    /// <summary>The <c>host:port</c> a registry's API answers on (HTTPS, 443 unless the reference names a port).</summary>
    public static string Endpoint(string registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var host = registry == DockerHub ? DockerHubApi : registry;
        return host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? host : $"{host}:443";
    }
}
