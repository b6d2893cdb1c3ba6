using System.Formats.Tar;
using System.Text.Json;

namespace Periscope.EndToEnd.Tests.Pod;

/// <summary>Reads an image's configuration out of an OCI archive (index.json → manifest → config blob).</summary>
internal static class OciArchive
{
    /// <summary>The image config's User ("uid:gid" as the Dockerfile's USER set it).</summary>
    public static string? User(string archive)
    {
        using var index = JsonDocument.Parse(Read(archive, "index.json"));
        var manifestDigest = index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()!;
        using var manifest = JsonDocument.Parse(Read(archive, Blob(manifestDigest)));
        var configDigest = manifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!;
        using var config = JsonDocument.Parse(Read(archive, Blob(configDigest)));
        return config.RootElement.GetProperty("config").TryGetProperty("User", out var user) ? user.GetString() : null;
    }

    private static string Blob(string digest) => "blobs/" + digest.Replace(':', '/');

    private static byte[] Read(string archive, string name)
    {
        using var stream = File.OpenRead(archive);
        using var reader = new TarReader(stream);
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.Name.TrimStart('.', '/') == name && entry.DataStream is { } data)
            {
                using var buffer = new MemoryStream();
                data.CopyTo(buffer);
                return buffer.ToArray();
            }
        }

        throw new FileNotFoundException($"{name} is not in {archive}");
    }
}
