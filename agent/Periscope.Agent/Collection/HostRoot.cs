using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Periscope.Agent.Collection;

/// <summary>
/// The real <see cref="INodeFileSystem"/>: a directory that looks like a node's filesystem is a node. Resolution
/// walks the path one component at a time so that an absolute symlink target (<c>kubelet-client-current.pem</c> →
/// <c>/var/lib/kubelet/pki/…</c>) is taken under the root, never from the agent's own filesystem.
/// </summary>
internal sealed partial class HostRoot : INodeFileSystem
{
    private const int MaxLinkHops = 40;

    private static bool s_openat2Unavailable;
    private readonly bool _emulateOpenat2;

    /// <param name="root">The node's filesystem root.</param>
    /// <param name="emulateOpenat2">Resolve by the component walk even where the kernel has <c>openat2</c> (tests).</param>
    public HostRoot(string root, bool emulateOpenat2 = false)
    {
        _emulateOpenat2 = emulateOpenat2;
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
        ArgumentNullException.ThrowIfNull(nodePath);
        if (NeverRead.Reason(ToNodePath(Resolve(nodePath))) is { } reason)
        {
            throw new UnauthorizedAccessException($"{nodePath} is never read: {reason}.");
        }

        // Resolved and opened in one step, by descriptor: what was checked is what is read, whatever is swapped in.
        var handle = OpenInRoot(nodePath);
        try
        {
            // Checked again on what the descriptor names: a link swapped in after the check above cannot lead to a
            // secret volume either.
            if (OpenedPath(handle) is { } opened && NeverRead.Reason(ToNodePath(opened)) is { } openedReason)
            {
                throw new UnauthorizedAccessException($"{nodePath} is never read: {openedReason}.");
            }

            return new FileStream(handle, FileAccess.Read, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a regular file under the root, resolving every symbolic link inside it (an absolute target re-rooted,
    /// <c>..</c> never above the root) in the same step as the open: <c>openat2</c> with
    /// <c>RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS</c> where the kernel has it (Linux 5.6), else — on <c>ENOSYS</c>,
    /// or <c>EPERM</c> from an older seccomp profile — a walk that emulates it one component at a time with
    /// <c>O_NOFOLLOW</c> and <c>readlinkat</c>, holding each directory by descriptor. The open never blocks
    /// (<c>O_NONBLOCK</c>: a FIFO answers at once) and the descriptor must be a regular file (<c>statx</c>).
    /// </summary>
    internal SafeFileHandle OpenInRoot(string nodePath) => OpenInRoot(nodePath, RegularFile);

    /// <summary>
    /// Opens a character device under the root (<c>/dev/kmsg</c>) the same way: resolved inside the root, opened
    /// non-blocking, and refused unless the descriptor is a character device — a link or file swapped in is not read.
    /// </summary>
    public SafeFileHandle OpenCharacterDevice(string nodePath) => OpenInRoot(nodePath, CharacterDevice);

    private const uint RegularFile = 0x8000;
    private const uint CharacterDevice = 0x2000;

    private SafeFileHandle OpenInRoot(string nodePath, uint fileType)
    {
        var relative = StripRoot(nodePath);
        using var root = Check(Native.OpenAt(Native.AtFdCwd, Root, Native.OPath | Native.ODirectory | Native.OCloExec, 0), nodePath);
        var flags = Native.ORdOnly | Native.ONonBlock | Native.OCloExec | Native.ONoCtty;
        SafeFileHandle file;
        if (!_emulateOpenat2 && !Volatile.Read(ref s_openat2Unavailable))
        {
            var fd = Native.OpenAt2(root, relative, flags);
            var errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (errno is Native.ENoSys or Native.EPerm)
            {
                Volatile.Write(ref s_openat2Unavailable, true);
                file = Walk(root, relative, flags, nodePath);
            }
            else
            {
                file = Check(fd, nodePath, errno);
            }
        }
        else
        {
            file = Walk(root, relative, flags, nodePath);
        }

        if (!Native.TryStat(file, out var mode, out _) || (mode & 0xF000) != fileType)
        {
            file.Dispose();
            throw new IOException($"{nodePath} is not a {(fileType == RegularFile ? "regular file" : "character device")}.");
        }

        return file;
    }

    private static SafeFileHandle Walk(SafeFileHandle root, string relative, int flags, string nodePath)
    {
        var pending = new Stack<string>(SplitReversed(relative));
        var directories = new Stack<SafeFileHandle>();
        var hops = 0;
        try
        {
            while (pending.Count > 0)
            {
                var part = pending.Pop();
                if (part.Length == 0 || part == ".")
                {
                    continue;
                }

                var parent = directories.Count > 0 ? directories.Peek() : root;
                if (part == "..")
                {
                    if (directories.Count > 0)
                    {
                        directories.Pop().Dispose(); // never above the root
                    }

                    continue;
                }

                var last = pending.All(p => p.Length == 0 || p == ".");
                var entry = Check(Native.OpenAt(parent, part, Native.OPath | Native.ONoFollow | Native.OCloExec, 0), nodePath);
                if (!Native.TryStat(entry, out var mode, out _))
                {
                    entry.Dispose();
                    throw new IOException($"{nodePath}: could not stat {part}.");
                }

                if ((mode & 0xF000) == 0xA000)
                {
                    var target = Native.ReadLink(entry);
                    entry.Dispose();
                    if (++hops > MaxLinkHops)
                    {
                        throw new IOException($"Too many symbolic links resolving '{nodePath}'.");
                    }

                    if (target.StartsWith('/'))
                    {
                        while (directories.Count > 0)
                        {
                            directories.Pop().Dispose(); // an absolute target is re-rooted
                        }
                    }

                    foreach (var segment in SplitReversed(target))
                    {
                        pending.Push(segment);
                    }

                    continue;
                }

                if (!last)
                {
                    if ((mode & 0xF000) != 0x4000)
                    {
                        entry.Dispose();
                        throw new DirectoryNotFoundException($"{nodePath}: {part} is not a directory.");
                    }

                    directories.Push(entry);
                    continue;
                }

                entry.Dispose();
                // The last component is opened for reading without following a link: one swapped in since it was
                // looked at fails the open (ELOOP) instead of being followed.
                return Check(Native.OpenAt(parent, part, flags | Native.ONoFollow, 0), nodePath);
            }

            throw new IOException($"{nodePath} names the root, not a file.");
        }
        finally
        {
            while (directories.Count > 0)
            {
                directories.Pop().Dispose();
            }
        }
    }

    private static SafeFileHandle Check(int fd, string nodePath, int? errno = null)
    {
        if (fd >= 0)
        {
            return new SafeFileHandle(fd, ownsHandle: true);
        }

        var error = errno ?? Marshal.GetLastPInvokeError();
        var message = $"{nodePath}: {Marshal.GetPInvokeErrorMessage(error)}";
        throw error switch
        {
            Native.ENoEnt => new FileNotFoundException(message, nodePath),
            Native.ENotDir => new DirectoryNotFoundException(message),
            Native.EAcces => new UnauthorizedAccessException(message),
            _ => new IOException(message),
        };
    }

    /// <summary>The path a descriptor names (its <c>/proc/self/fd</c> link), or null where that cannot be read.</summary>
    private static string? OpenedPath(SafeFileHandle handle)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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

    /// <summary>
    /// The filesystem holding a node directory; where the directory does not exist, the one holding its nearest
    /// existing ancestor. But under a host root that is a directory of the agent's own filesystem (the pod's
    /// <c>/host</c>, where only some node directories are mounted), a path that is no mount of the node lies on the
    /// container's filesystem and its figures would be the container's: it is then measured through a node mount
    /// beneath it (the kubelet's pki directory for <c>/var/lib/kubelet</c>, say), else not measured, with the reason.
    /// </summary>
    public FileSystemUsage? GetUsage(string nodePath, out string? problem)
    {
        var path = Resolve(nodePath);
        if (IsContainerOwn(Root))
        {
            if (!Directory.Exists(path) || IsContainerOwn(path))
            {
                var beneath = Directory.Exists(path) ? MountsBeneath(path) : [];
                if (beneath.Count == 0)
                {
                    problem = $"the node's {nodePath} is not mounted into the agent's container: its filesystem is not measured";
                    return null;
                }

                path = beneath[0];
            }
        }
        else
        {
            while (!Directory.Exists(path) && path.Length > Root.Length && path.LastIndexOf('/') is var slash and > 0)
            {
                path = path[..slash];
            }
        }

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

    /// <summary>
    /// True when <paramref name="path"/> lies on the same mount as the host root directory and that directory is no
    /// mount point itself: the agent's own filesystem, not one of the node's. Never under the root <c>/</c>, nor where
    /// mount ids are unknown (kernels before 5.8).
    /// </summary>
    private bool IsContainerOwn(string path)
        => Root != "/"
           && Native.TryMountId(Root, out var root) && Native.TryMountId(Root + "/..", out var parent) && root == parent
           && Native.TryMountId(path, out var own) && own == root;

    /// <summary>Mount points of the agent's mount table strictly beneath <paramref name="path"/>, shortest first.</summary>
    private static List<string> MountsBeneath(string path)
    {
        try
        {
            return File.ReadLines("/proc/self/mountinfo")
                .Select(line => line.Split(' ', 6))
                .Where(fields => fields.Length >= 5)
                .Select(fields => fields[4].Replace("\\040", " ", StringComparison.Ordinal))
                .Where(point => point.StartsWith(path.TrimEnd('/') + "/", StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal)
                .OrderBy(point => point.Length).ThenBy(point => point, StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
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

    private static bool Stat(string path, out uint mode) => Native.TryStat(path, out mode);

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
}
