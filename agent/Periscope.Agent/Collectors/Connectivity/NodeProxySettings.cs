using System.Net;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Collectors.Connectivity;

/// <summary>An HTTPS proxy a node service uses: where it is and, never written anywhere, its credentials.</summary>
/// <param name="Host">The proxy's host.</param>
/// <param name="Port">Its port.</param>
/// <param name="Authorization">A <c>Proxy-Authorization</c> value built from the URL's user info, or null.</param>
/// <param name="NoProxy">The service's NO_PROXY entries.</param>
/// <param name="Source">The unit whose environment set it (<c>kubelet</c> or <c>containerd</c>).</param>
internal sealed record ProxyRoute(string Host, int Port, string? Authorization, IReadOnlyList<string> NoProxy, string Source)
{
    /// <summary><c>host:port</c>: what the bundle records (never the user info).</summary>
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>
    /// Whether a request to <paramref name="host"/>:<paramref name="port"/> goes through the proxy, by the rules Go's
    /// HTTP clients (the kubelet's, containerd's) apply: never for <c>localhost</c> or a loopback address; not when a
    /// NO_PROXY entry matches — <c>*</c>, an address, a CIDR range, <c>domain</c> (itself and its subdomains),
    /// <c>.domain</c> or <c>*.domain</c> (subdomains only), each optionally with <c>:port</c>.
    /// </summary>
    public bool Applies(string host, int port)
    {
        host = host.Trim('[', ']').ToLowerInvariant();
        var address = IPAddress.TryParse(host, out var parsed) ? parsed : null;
        if (host == "localhost" || (address is not null && IPAddress.IsLoopback(address)))
        {
            return false;
        }

        foreach (var raw in NoProxy)
        {
            var entry = raw.Trim().ToLowerInvariant();
            if (entry.Length == 0)
            {
                continue;
            }

            if (entry == "*")
            {
                return false;
            }

            if (IPNetwork.TryParse(entry, out var network))
            {
                if (address is not null && network.Contains(address))
                {
                    return false;
                }

                continue;
            }

            if (IPAddress.TryParse(entry.Trim('[', ']'), out var entryAddress))
            {
                if (address is not null && entryAddress.Equals(address))
                {
                    return false;
                }

                continue;
            }

            var entryPort = 0;
            var colon = entry.LastIndexOf(':');
            if (colon > 0 && int.TryParse(entry[(colon + 1)..], global::System.Globalization.CultureInfo.InvariantCulture, out var p))
            {
                entryPort = p;
                entry = entry[..colon];
            }

            if (entryPort != 0 && entryPort != port)
            {
                continue;
            }

            if (entry.StartsWith("*.", StringComparison.Ordinal))
            {
                entry = entry[1..];
            }

            var subdomainsOnly = entry.StartsWith('.');
            var domain = entry.TrimStart('.');
            if (host.EndsWith("." + domain, StringComparison.Ordinal) || (!subdomainsOnly && host == domain))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// The HTTPS proxies the kubelet and containerd are started with: <c>HTTPS_PROXY</c> and <c>NO_PROXY</c> (either case)
/// from their systemd units under the host root — the unit in <c>/etc/systemd/system</c> and its drop-ins
/// (<c>&lt;unit&gt;.service.d/*.conf</c>, in name order, later ones winning), <c>Environment=</c> lines and the files
/// <c>EnvironmentFile=</c> names — which is where node provisioning (AKS's HTTP proxy setting among them) puts them.
/// </summary>
internal static class NodeProxySettings
{
    public const int MaxFileBytes = 256 * 1024;

    /// <summary>The proxy of one unit (<c>kubelet</c>, <c>containerd</c>), or null when it has none (or an unusable one).</summary>
    public static async Task<ProxyRoute?> ReadAsync(INodeFileSystem host, string unit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<string> { $"/lib/systemd/system/{unit}.service", $"/etc/systemd/system/{unit}.service" };
        var dropIns = $"/etc/systemd/system/{unit}.service.d";
        if (host.DirectoryExists(dropIns))
        {
            try
            {
                files.AddRange(Directory.EnumerateFiles(host.Resolve(dropIns), "*.conf").Select(Path.GetFileName).Order(StringComparer.Ordinal)
                    .Select(name => $"{dropIns}/{name}"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Unreadable drop-ins: the unit's own file still counts.
            }
        }

        foreach (var file in files)
        {
            if (await host.TryReadTextAsync(file, MaxFileBytes, cancellationToken) is not { } text)
            {
                continue;
            }

            foreach (var line in text.Split('\n').Select(l => l.Trim()))
            {
                if (line.StartsWith("Environment=", StringComparison.Ordinal))
                {
                    foreach (var assignment in UnitWords(line["Environment=".Length..]))
                    {
                        Assign(environment, assignment);
                    }
                }
                else if (line.StartsWith("EnvironmentFile=", StringComparison.Ordinal))
                {
                    var path = line["EnvironmentFile=".Length..].Trim().TrimStart('-');
                    if (path.StartsWith('/') && await host.TryReadTextAsync(path, MaxFileBytes, cancellationToken) is { } envFile)
                    {
                        foreach (var envLine in envFile.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
                        {
                            Assign(environment, envLine.StartsWith("export ", StringComparison.Ordinal) ? envLine[7..] : envLine);
                        }
                    }
                }
            }
        }

        var proxy = environment.GetValueOrDefault("HTTPS_PROXY") ?? environment.GetValueOrDefault("https_proxy");
        if (string.IsNullOrWhiteSpace(proxy))
        {
            return null;
        }

        var noProxy = (environment.GetValueOrDefault("NO_PROXY") ?? environment.GetValueOrDefault("no_proxy") ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return Parse(proxy.Trim(), noProxy, unit);
    }

    /// <summary>A proxy URL (<c>http://[user:password@]host[:port]</c>; a bare <c>host:port</c> is taken as http).</summary>
    internal static ProxyRoute? Parse(string url, IReadOnlyList<string> noProxy, string source)
    {
        if (!Uri.TryCreate(url.Contains("://", StringComparison.Ordinal) ? url : "http://" + url, UriKind.Absolute, out var uri)
            || string.IsNullOrEmpty(uri.Host) || uri.Scheme is not ("http" or "https"))
        {
            return null;
        }

        string? authorization = null;
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            var credentials = $"{Uri.UnescapeDataString(parts[0])}:{(parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : string.Empty)}";
            authorization = "Basic " + Convert.ToBase64String(global::System.Text.Encoding.UTF8.GetBytes(credentials));
        }

        var port = uri.IsDefaultPort ? (uri.Scheme == "https" ? 443 : 80) : uri.Port;
        return new ProxyRoute(uri.Host.Trim('[', ']'), port, authorization, noProxy, source);
    }

    private static void Assign(Dictionary<string, string> environment, string assignment)
    {
        var equals = assignment.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0)
        {
            environment[assignment[..equals].Trim()] = assignment[(equals + 1)..].Trim().Trim('"', '\'');
        }
    }

    /// <summary>The words of a systemd <c>Environment=</c> value: space separated, double or single quoted ones kept whole.</summary>
    internal static IEnumerable<string> UnitWords(string value)
    {
        var word = new global::System.Text.StringBuilder();
        char? quote = null;
        var any = false;
        foreach (var c in value)
        {
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                any = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (word.Length > 0 || any)
                {
                    yield return word.ToString();
                }

                word.Clear();
                any = false;
            }
            else
            {
                word.Append(c);
                any = true;
            }
        }

        if (word.Length > 0 || any)
        {
            yield return word.ToString();
        }
    }
}
