using Xunit;
using YamlDotNet.RepresentationModel;

namespace Periscope.EndToEnd.Tests.Pod;

/// <summary>
/// The node a translated pod runs on, seen from the kubelet: where each hostPath volume is on this machine (the
/// machine's own path, unless the test puts a node path elsewhere, e.g. the containerd socket of the test's runtime),
/// a fresh directory for each emptyDir, the service account token directory, and the pods' log directory.
/// A DirectoryOrCreate path this machine lacks is created inside the node's temp directory, never on the machine;
/// a Directory, File or Socket path that exists nowhere fails, as the kubelet refuses to start such a pod.
/// </summary>
internal sealed class PodNode(string root, string nodeName)
{
    private readonly List<string> _emptyDirs = [];

    public string NodeName { get; } = nodeName;

    /// <summary>Node paths placed elsewhere on this machine (node path → this machine's path).</summary>
    public Dictionary<string, string> HostPaths { get; } = new(StringComparer.Ordinal);

    /// <summary>The API server the kubelet tells pods about (KUBERNETES_SERVICE_HOST/PORT), if any.</summary>
    public Uri? ApiServer { get; init; }

    /// <summary>A directory with token, ca.crt and namespace, mounted as the service account volume.</summary>
    public string? ServiceAccountDirectory { get; init; }

    /// <summary>The files of each Secret a secret volume names (Secret name → file name → content).</summary>
    public Dictionary<string, Dictionary<string, string>> Secrets { get; } = new(StringComparer.Ordinal);

    /// <summary>The emptyDir volumes created for the pod, by volume name.</summary>
    public IReadOnlyList<string> EmptyDirs => _emptyDirs;

    public string LogDirectory(string ns, string pod, string uid)
    {
        var directory = Path.Combine(root, "pods", $"{ns}_{pod}_{uid}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    public string Resolve(string name, YamlMappingNode volume)
    {
        if (KubeletPod.Map(volume, "hostPath") is { } hostPath)
        {
            var path = KubeletPod.Text(hostPath, "path")!;
            var type = KubeletPod.Text(hostPath, "type") ?? string.Empty;
            var resolved = HostPaths.TryGetValue(path, out var placed) ? placed : path;
            var exists = type switch
            {
                "Socket" or "File" or "CharDevice" => File.Exists(resolved),
                "Directory" or "DirectoryOrCreate" => Directory.Exists(resolved),
                _ => File.Exists(resolved) || Directory.Exists(resolved),
            };
            if (exists)
            {
                return resolved;
            }

            Assert.True(type == "DirectoryOrCreate", $"hostPath {path} ({type}) of volume {name} does not exist: the kubelet would not start the pod");
            var created = Path.Combine(root, "node", path.TrimStart('/'));
            Directory.CreateDirectory(created);
            return created;
        }

        if (volume.Children.ContainsKey(new YamlScalarNode("emptyDir")))
        {
            var directory = Path.Combine(root, "empty-dir", name);
            Directory.CreateDirectory(directory);
            _emptyDirs.Add(directory);
            return directory;
        }

        if (KubeletPod.Map(volume, "secret") is { } secret)
        {
            var secretName = KubeletPod.Text(secret, "secretName")!;
            Assert.True(Secrets.TryGetValue(secretName, out var files), $"volume {name}: Secret {secretName} does not exist on this node");
            var directory = Path.Combine(root, "secrets", name);
            Directory.CreateDirectory(directory);
            foreach (var (file, content) in files!)
            {
                File.WriteAllText(Path.Combine(directory, file), content);
            }

            return directory;
        }

        Assert.Fail($"volume {name}: only hostPath, emptyDir and secret volumes are translated");
        return string.Empty;
    }

    /// <summary>Writes a service account volume's files: token, ca.crt, namespace.</summary>
    public static string WriteServiceAccount(string directory, string token, string caPem, string ns)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "token"), token);
        File.WriteAllText(Path.Combine(directory, "ca.crt"), caPem);
        File.WriteAllText(Path.Combine(directory, "namespace"), ns);
        return directory;
    }
}
