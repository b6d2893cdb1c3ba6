namespace Periscope.Collector.Incident;

/// <summary>
/// The settings an overlay takes from an env file (kustomize's <c>configMapGenerator</c> <c>envs</c>, e.g.
/// deploy/overlays/aks/azure.env), read from a filled-in copy for the incident command's <c>--settings</c>:
/// <c>KEY=VALUE</c> lines, <c>#</c> comments and blank lines ignored, one pair of surrounding quotes removed. Values are
/// checked by their key's kind — a <c>_URL</c> an absolute https URL with no query or user (a SAS does not belong here:
/// the overlays authenticate as workload identities), a <c>_CLIENT_ID</c> a GUID, an <c>_ENDPOINT</c> empty or an
/// absolute http(s) URL — so a typo fails before anything is installed.
/// </summary>
internal static class OverlaySettings
{
    /// <exception cref="ArgumentException">The file cannot be read, or a line or value is not valid (the message says which).</exception>
    public static IReadOnlyDictionary<string, string> Read(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--settings {path}: {ex.Message}", ex);
        }

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var key = equals > 0 ? line[..equals].Trim() : string.Empty;
            if (key.Length == 0 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                throw new ArgumentException($"--settings {path}, line {i + 1}: expected KEY=VALUE");
            }

            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            if (Problem(key, value) is { } problem)
            {
                throw new ArgumentException($"--settings {path}, line {i + 1}: {key} {problem}");
            }

            settings[key] = value;
        }

        return settings;
    }

    /// <summary>What is wrong with a value for its key's kind, or null.</summary>
    internal static string? Problem(string key, string value)
    {
        if (key.EndsWith("_URL", StringComparison.Ordinal))
        {
            return !Uri.TryCreate(value, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps ? "must be an absolute https URL"
                : url.Query.Length > 0 || url.UserInfo.Length > 0 ? "must have no query and no user (no SAS or key: the pods authenticate as their workload identity)"
                : null;
        }

        if (key.EndsWith("_CLIENT_ID", StringComparison.Ordinal))
        {
            return Guid.TryParse(value, out _) ? null : "must be a client id (a GUID: az identity show --query clientId)";
        }

        if (key.EndsWith("_ENDPOINT", StringComparison.Ordinal) && value.Length > 0)
        {
            return Uri.TryCreate(value, UriKind.Absolute, out var endpoint) && (endpoint.Scheme == Uri.UriSchemeHttp || endpoint.Scheme == Uri.UriSchemeHttps)
                ? null
                : "must be empty or an absolute http(s) URL";
        }

        return null;
    }
}
