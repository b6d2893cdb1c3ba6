using System.Runtime.InteropServices;
using System.Text;

namespace Periscope.Agent.Collection;

/// <summary>
/// The real <see cref="INodeFileSystem"/>: a directory that looks like a node's filesystem is a node. Resolution
/// walks the path one component at a time so that an absolute symlink target (<c>kubelet-client-current.pem</c> →
/// <c>/var/lib/kubelet/pki/…</c>) is taken under the root, never from the agent's own filesystem.
/// </summary>
internal sealed partial class HostRoot : INodeFileSystem
{
    private const int MaxLinkHops = 40;

    public HostRoot(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (Root.Length == 0)
        {
            Root = "/";
        }
    }

    public string Root { get; }

    public string Resolve(string nodePath)
    {
        ArgumentNullException.ThrowIfNull(nodePath);
        var pending = new Stack<string>(SplitReversed(StripRoot(nodePath)));
        var resolved = new List<string>();
        var hops = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1); // never above the root
                }

                continue;
            }

            resolved.Add(part);
            var real = Join(resolved);
            string? target = null;
            try
            {
                target = new FileInfo(real).LinkTarget;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }

            if (target is null)
            {
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                throw new IOException($"Too many symbolic links resolving '{nodePath}'.");
            }

            resolved.RemoveAt(resolved.Count - 1);
            if (target.StartsWith('/'))
            {
                resolved.Clear(); // an absolute target is re-rooted
            }

            foreach (var segment in SplitReversed(target))
            {
                pending.Push(segment);
            }
        }

        return Join(resolved);
    }

    public string ToNodePath(string realPath)
    {
        ArgumentNullException.ThrowIfNull(realPath);
        if (Root == "/")
        {
            return realPath;
        }

        return realPath.StartsWith(Root + "/", StringComparison.Ordinal)
            ? realPath[Root.Length..]
            : realPath == Root ? "/" : realPath;
    }

    public bool FileExists(string nodePath) => File.Exists(Resolve(nodePath));

    public bool DirectoryExists(string nodePath) => Directory.Exists(Resolve(nodePath));

    public bool IsCharacterDevice(string nodePath)
    {
        var path = Resolve(nodePath);
        return Stat(path, out var mode) && (mode & 0xF000) == 0x2000; // S_IFCHR
    }

    public Stream OpenRead(string nodePath)
    {
        var path = Resolve(nodePath);
        if (NeverRead.Reason(ToNodePath(path)) is { } reason)
        {
            throw new UnauthorizedAccessException($"{nodePath} is never read: {reason}.");
        }

        // Opening a FIFO for reading blocks until a writer appears, and a socket cannot be read as a file: refuse
        // anything but regular files and character devices so that a hostile node root cannot hang a run.
        if (Stat(path, out var mode) && (mode & 0xF000) is not (0x8000 or 0x2000))
        {
            throw new IOException($"{nodePath} is not a regular file.");
        }

        return new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 0,
            Options = FileOptions.SequentialScan,
        });
    }

    public async Task<string?> TryReadTextAsync(string nodePath, int maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = OpenRead(nodePath);
            var buffer = new byte[Math.Min(maxBytes, 64 * 1024)];
            using var memory = new MemoryStream();
            int read;
            // /proc files report a size of 0: read until the end rather than trusting Length.
            while (memory.Length < maxBytes
                   && (read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, maxBytes - memory.Length)), cancellationToken)) > 0)
            {
                memory.Write(buffer, 0, read);
            }

            return Encoding.UTF8.GetString(memory.GetBuffer(), 0, (int)memory.Length);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public IReadOnlyList<string> ListDirectory(string nodePath)
    {
        try
        {
            var path = Resolve(nodePath);
            if (NeverRead.Reason(ToNodePath(path)) is not null)
            {
                return []; // not even the names of what a secret volume holds
            }

            return Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).OfType<string>().ToList();
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            return [];
        }
    }

    public FileSystemUsage? GetUsage(string nodePath, out string? problem)
    {
        var path = Resolve(nodePath);
        if (StatVfs(path, out var buffer) != 0)
        {
            problem = $"statvfs({path}) failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}";
            return null;
        }

        problem = null;
        var fragment = (long)(buffer.FragmentSize == 0 ? buffer.BlockSize : buffer.FragmentSize);
        return new FileSystemUsage(
            (long)buffer.Blocks * fragment,
            (long)buffer.BlocksAvailable * fragment,
            (long)buffer.Files,
            (long)buffer.FilesFree);
    }

    private string StripRoot(string nodePath)
    {
        // A path already under the root (a re-rooted CRI log path, say) is accepted as is.
        if (Root != "/" && (nodePath == Root || nodePath.StartsWith(Root + "/", StringComparison.Ordinal)))
        {
            return nodePath[Root.Length..];
        }

        return nodePath;
    }

    private string Join(List<string> parts)
        => parts.Count == 0 ? Root : (Root == "/" ? "/" : Root + "/") + string.Join('/', parts);

    private static IEnumerable<string> SplitReversed(string path)
        => path.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse();

    private static unsafe bool Stat(string path, out uint mode)
    {
        // statx has one layout on every architecture, unlike struct stat; stx_mode is the u16 at offset 28.
        const int AtFdCwd = -100;
        const uint StatxType = 0x1;
        var buffer = stackalloc byte[256];
        mode = 0;
        if (StatX(AtFdCwd, path, 0, StatxType, buffer) != 0)
        {
            return false;
        }

        mode = *(ushort*)(buffer + 28);
        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct StatVfsBuffer
    {
        public ulong BlockSize;
        public ulong FragmentSize;
        public ulong Blocks;
        public ulong BlocksFree;
        public ulong BlocksAvailable;
        public ulong Files;
        public ulong FilesFree;
        public ulong FilesAvailable;
        public ulong FileSystemId;
        public ulong Flags;
        public ulong NameMax;
        public unsafe fixed int Spare[6];
    }

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatVfs(string path, out StatVfsBuffer buffer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatX(int directoryFd, string path, int flags, uint mask, byte* buffer);
}
