using System.Text.Json;
using Periscope.Agent.Collection;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Cni;

/// <summary>One parsed configuration: its facts, and what later checks need from its JSON.</summary>
internal sealed record CniConfig(CniConfigFacts Facts, IReadOnlyList<CniPluginConfig> Plugins)
{
    public bool Valid => Facts.Error is null;
}

/// <summary>One plugin of a configuration.</summary>
/// <param name="Type">Plugin type.</param>
/// <param name="IpamType">Its <c>ipam.type</c>.</param>
/// <param name="IpamMode">Its <c>ipam.mode</c> (Azure CNI: <c>v4overlay</c>).</param>
/// <param name="Ipam">Its <c>ipam</c> object, as JSON text.</param>
/// <param name="Mtu">Its <c>mtu</c>.</param>
/// <param name="Bridge">Its <c>bridge</c> (bridge plugin).</param>
internal sealed record CniPluginConfig(string Type, string? IpamType, string? IpamMode, string? Ipam, int? Mtu, string? Bridge);

/// <summary>
/// The CNI configuration directory as the runtime reads it (libcni): files ending <c>.conf</c>, <c>.conflist</c> or
/// <c>.json</c>, in lexical order; the first valid one is the active network.
/// </summary>
internal static class CniConfigs
{
    private const int MaxFileBytes = 1024 * 1024;

    /// <summary>IPAM types handled inside their main plugin, not by a binary of their own.</summary>
    private static readonly HashSet<string> InProcessIpam = new(StringComparer.Ordinal) { "azure-cns" };

    public static async Task<List<CniConfig>> ReadAsync(INodeFileSystem host, string directory, CancellationToken cancellationToken)
    {
        var configs = new List<CniConfig>();
        var names = host.ListDirectory(directory)
            .Where(n => n.EndsWith(".conf", StringComparison.Ordinal) || n.EndsWith(".conflist", StringComparison.Ordinal) || n.EndsWith(".json", StringComparison.Ordinal))
            .OrderBy(n => n, StringComparer.Ordinal);
        foreach (var name in names)
        {
            string? text;
            try
            {
                text = await host.TryReadTextAsync($"{directory}/{name}", MaxFileBytes, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                configs.Add(Invalid(name, ex.Message));
                continue;
            }

            configs.Add(text is null ? Invalid(name, "not a readable file") : Parse(name, text));
        }

        return configs;
    }

    public static CniConfig Parse(string file, string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            return Invalid(file, $"not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Invalid(file, "not a JSON object");
            }

            var name = String(root, "name");
            var version = String(root, "cniVersion");
            var list = file.EndsWith(".conflist", StringComparison.Ordinal) || root.TryGetProperty("plugins", out _);
            var plugins = new List<CniPluginConfig>();
            if (list)
            {
                if (!root.TryGetProperty("plugins", out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() == 0)
                {
                    return Invalid(file, "a network list without plugins", name, version);
                }

                foreach (var plugin in array.EnumerateArray())
                {
                    if (Plugin(plugin) is not { } parsed)
                    {
                        return Invalid(file, "a plugin without a type", name, version);
                    }

                    plugins.Add(parsed);
                }
            }
            else if (Plugin(root) is { } single)
            {
                plugins.Add(single);
            }
            else
            {
                return Invalid(file, "no plugin type", name, version);
            }

            if (string.IsNullOrEmpty(name))
            {
                return Invalid(file, "no network name", name, version, plugins);
            }

            return new CniConfig(new CniConfigFacts { File = file, Name = name, CniVersion = version, PluginTypes = plugins.Select(p => p.Type).ToList() }, plugins);
        }
    }

    /// <summary>The network mode the configuration implies.</summary>
    public static string Mode(CniConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var types = config.Plugins.Select(p => p.Type).ToHashSet(StringComparer.Ordinal);
        if (types.Contains("cilium-cni"))
        {
            return "cilium";
        }

        if (config.Plugins.FirstOrDefault(p => p.Type == "azure-vnet") is { } azure)
        {
            return azure.IpamMode == "v4overlay" ? "azure-cni-overlay" : "azure-cni";
        }

        if (types.Contains("calico"))
        {
            return "calico";
        }

        if (types.Contains("flannel"))
        {
            return "flannel";
        }

        if (config.Plugins.FirstOrDefault(p => p.Type == "bridge") is { } bridge)
        {
            return config.Facts.Name == "kubenet" || bridge.Bridge == "cbr0" ? "kubenet" : "bridge";
        }

        return "other";
    }

    /// <summary>The binaries the configuration needs: each plugin's type and its IPAM type.</summary>
    public static IEnumerable<string> RequiredBinaries(CniConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Plugins.SelectMany(p => p.IpamType is { Length: > 0 } ipam && !InProcessIpam.Contains(ipam) ? new[] { p.Type, ipam } : [p.Type])
            .Distinct(StringComparer.Ordinal);
    }

    private static CniPluginConfig? Plugin(JsonElement plugin)
    {
        if (plugin.ValueKind != JsonValueKind.Object || String(plugin, "type") is not { Length: > 0 } type
            || type.Contains('/', StringComparison.Ordinal) || type.Contains("..", StringComparison.Ordinal))
        {
            return null;
        }

        var ipam = plugin.TryGetProperty("ipam", out var i) && i.ValueKind == JsonValueKind.Object ? i : default;
        int? mtu = plugin.TryGetProperty("mtu", out var m) && m.ValueKind == JsonValueKind.Number && m.TryGetInt32(out var value) ? value : null;
        return new CniPluginConfig(type,
            ipam.ValueKind == JsonValueKind.Object ? String(ipam, "type") : null,
            ipam.ValueKind == JsonValueKind.Object ? String(ipam, "mode") : null,
            ipam.ValueKind == JsonValueKind.Object ? ipam.GetRawText() : null,
            mtu,
            String(plugin, "bridge"));
    }

    private static string? String(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static CniConfig Invalid(string file, string error, string? name = null, string? version = null, IReadOnlyList<CniPluginConfig>? plugins = null)
        => new(new CniConfigFacts { File = file, Name = name, CniVersion = version, PluginTypes = plugins?.Select(p => p.Type).ToList() ?? [], Error = error }, plugins ?? []);
}
