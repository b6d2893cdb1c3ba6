namespace Periscope.Agent.Collection;

/// <summary>
/// The node's filesystem seen through the host root (<c>/</c> on the machine itself, <c>/host</c> in the DaemonSet, a
/// captured directory in a replay). Paths are node paths (<c>/var/lib/kubelet</c> or <c>var/lib/kubelet</c>); absolute
/// symlink targets met on the way are re-rooted, so no read escapes the root.
/// </summary>
public interface INodeFileSystem
{
    /// <summary>The host root directory.</summary>
    string Root { get; }

    /// <summary>The real path of a node path, symlinks followed and re-rooted under <see cref="Root"/>.</summary>
    string Resolve(string nodePath);

    /// <summary>The node path of a real path under the root (the inverse of <see cref="Resolve"/>).</summary>
    string ToNodePath(string realPath);

    /// <summary>Whether a regular file (or device) exists at the node path.</summary>
    bool FileExists(string nodePath);

    /// <summary>Whether a directory exists at the node path.</summary>
    bool DirectoryExists(string nodePath);

    /// <summary>Whether the node path is a character device (<c>/dev/kmsg</c> on a live host, a file in a capture).</summary>
    bool IsCharacterDevice(string nodePath);

    /// <summary>Opens a file for reading.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    Stream OpenRead(string nodePath);

    /// <summary>Opens a character device under the root (non-blocking), refusing anything else that is there.</summary>
    /// <exception cref="IOException">It is not a character device, or could not be opened.</exception>
    Microsoft.Win32.SafeHandles.SafeFileHandle OpenCharacterDevice(string nodePath);

    /// <summary>Reads a small text file whole, at most <paramref name="maxBytes"/>; null when it does not exist.</summary>
    Task<string?> TryReadTextAsync(string nodePath, int maxBytes, CancellationToken cancellationToken);

    /// <summary>Names (not paths) of the entries of a directory; empty when it does not exist.</summary>
    IReadOnlyList<string> ListDirectory(string nodePath);

    /// <summary>Size and inode use of the filesystem holding the node path; null with a reason when unknown.</summary>
    FileSystemUsage? GetUsage(string nodePath, out string? problem);
}
