using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Periscope.Agent.Collection.Node;

/// <summary>
/// Reads the kubelet config and kubeconfig through YamlDotNet's representation model (a node tree, no reflection,
/// so it stays AOT-clean). Malformed YAML is a <see cref="YamlException"/>, handled by the caller as data.
/// </summary>
internal static class KubeletYaml
{
    public static YamlMappingNode? Load(string text)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(text);
        stream.Load(reader);
        return stream.Documents.Count > 0 ? stream.Documents[0].RootNode as YamlMappingNode : null;
    }

    public static string? Scalar(YamlMappingNode? map, string key)
        => map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlScalarNode scalar ? scalar.Value : null;

    public static YamlMappingNode? Mapping(YamlMappingNode? map, string key)
        => map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node as YamlMappingNode : null;

    public static IReadOnlyList<string> Strings(YamlMappingNode? map, string key)
        => map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlSequenceNode sequence
            ? sequence.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? string.Empty).ToList()
            : [];

    /// <summary>The server URL of the kubeconfig's current context (or its first cluster).</summary>
    public static string? KubeconfigServer(YamlMappingNode? kubeconfig)
    {
        if (kubeconfig is null || !kubeconfig.Children.TryGetValue(new YamlScalarNode("clusters"), out var node) || node is not YamlSequenceNode clusters)
        {
            return null;
        }

        return clusters.Children.OfType<YamlMappingNode>()
            .Select(c => Scalar(Mapping(c, "cluster"), "server"))
            .FirstOrDefault(s => !string.IsNullOrEmpty(s));
    }
}
