using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Periscope.Agent.Tests.Collectors.Containerd;

/// <summary>
/// Builds an OCI image-layout tarball (oci-layout, index.json, blobs: one gzip layer, config, manifest) around one
/// static binary, for <c>ctr images import</c>: no registry is reachable here.
/// </summary>
internal static class OciImageBuilder
{
    public static void Build(string outputTar, string imageName, string staticBinary, string[] entrypoint)
    {
        // Layer: bin/busybox plus bin/sh -> busybox.
        using var layerTar = new MemoryStream();
        using (var tar = new TarWriter(layerTar, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)Convert.ToInt32("755", 8) });
            var file = new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)Convert.ToInt32("755", 8) };
            using var content = File.OpenRead(staticBinary);
            file.DataStream = content;
            tar.WriteEntry(file);
            tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/sh") { LinkName = "busybox" });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "tmp/") { Mode = (UnixFileMode)Convert.ToInt32("1777", 8) });
        }

        var diffId = Sha256(layerTar.ToArray());
        using var layerGz = new MemoryStream();
        using (var gzip = new GZipStream(layerGz, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(layerTar.ToArray());
        }

        var layer = layerGz.ToArray();
        var entry = string.Join(",", entrypoint.Select(e => $"\"{e}\""));
        var config = Encoding.UTF8.GetBytes(
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[" + entry + "],\"Env\":[\"PATH=/bin\"]}," +
            "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" + diffId + "\"]}}");
        var manifest = Encoding.UTF8.GetBytes(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
            $"\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:{Sha256(config)}\",\"size\":{config.Length}}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:{Sha256(layer)}\",\"size\":{layer.Length}}}]}}");
        var index = Encoding.UTF8.GetBytes(
            "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
            $"\"digest\":\"sha256:{Sha256(manifest)}\",\"size\":{manifest.Length}," +
            $"\"annotations\":{{\"io.containerd.image.name\":\"{imageName}\",\"org.opencontainers.image.ref.name\":\"{imageName[(imageName.LastIndexOf(':') + 1)..]}\"}}," +
            "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}");

        using var output = File.Create(outputTar);
        using var layout = new TarWriter(output, TarEntryFormat.Pax);
        Add(layout, "oci-layout", Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}"));
        Add(layout, "index.json", index);
        foreach (var blob in new[] { layer, config, manifest })
        {
            Add(layout, $"blobs/sha256/{Sha256(blob)}", blob);
        }
    }

    private static void Add(TarWriter tar, string name, byte[] content)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)Convert.ToInt32("644", 8) };
        tar.WriteEntry(entry);
    }

    private static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
