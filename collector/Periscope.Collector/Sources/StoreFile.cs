using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Periscope.Collector.Sources;

/// <summary>
/// Opens a file of a directory store by descriptor, so that what is checked is what is read: the run folder is opened
/// with <c>O_NOFOLLOW</c> relative to the store, the file with <c>O_NOFOLLOW | O_NONBLOCK</c> relative to the run
/// folder, and the opened descriptor must be a regular file (<c>statx</c>). A symbolic link anywhere below the store
/// root is refused (agents never write one), and a FIFO or device named like a bundle is refused at once instead of
/// blocking the reader.
/// </summary>
internal static partial class StoreFile
{
    private const int ORdOnly = 0x0;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int ONoCtty = 0x100;
    private const int ELoop = 40;
    private const int ENotDir = 20;
    private const int ENoEnt = 2;
    private const int AtEmptyPath = 0x1000;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtFdCwd = -100;

    // O_DIRECTORY and O_NOFOLLOW are the two open flags whose values differ between x86-64 and arm64.
    private static readonly int ODirectory = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;
    private static readonly int ONoFollow = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    /// <summary>What a store entry is, read without following it.</summary>
    public enum Kind
    {
        Missing,
        RegularFile,
        Directory,
        SymbolicLink,
        Other,
    }

    /// <summary>Opens <c>store/runId/name</c> for reading.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="IOException">It is a symbolic link, not a regular file, or could not be opened.</exception>
    public static FileStream OpenRead(string store, string runId, string name, int bufferSize = 4096)
    {
        var handle = Open(store, runId, name, out _);
        return new FileStream(handle, FileAccess.Read, bufferSize);
    }

    /// <summary>Reads all of <c>store/runId/name</c> when it is at most <paramref name="maxBytes"/> long.</summary>
    /// <exception cref="IOException">As <see cref="OpenRead"/>, or when the file is over the limit.</exception>
    public static byte[] ReadAll(string store, string runId, string name, long maxBytes)
    {
        using var handle = Open(store, runId, name, out var size);
        if (size > maxBytes)
        {
            throw new IOException($"{runId}/{name} is {size} bytes, over the limit of {maxBytes}");
        }

        var bytes = new byte[size];
        var read = 0;
        while (read < bytes.Length)
        {
            var n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
            if (n == 0)
            {
                Array.Resize(ref bytes, read); // shrank while read
                break;
            }

            read += n;
        }

        return bytes;
    }

    /// <summary>What <paramref name="path"/> is, without following a final symbolic link.</summary>
    public static unsafe Kind KindOf(string path)
    {
        var buffer = stackalloc byte[256];
        if (StatX(AtFdCwd, path, AtSymlinkNoFollow, 0x1, buffer) != 0)
        {
            return Kind.Missing;
        }

        return (*(ushort*)(buffer + 28) & 0xF000) switch
        {
            0x8000 => Kind.RegularFile,
            0x4000 => Kind.Directory,
            0xA000 => Kind.SymbolicLink,
            _ => Kind.Other,
        };
    }

    /// <summary>
    /// What a file's content depends on, read without following it: its inode, size, and modification and change times
    /// (the change time moves on every write and cannot be set back), or null when it is missing.
    /// </summary>
    public static unsafe string? VersionOf(string path)
    {
        var buffer = stackalloc byte[256];
        // STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME; timestamps are {i64 sec, u32 nsec, pad}.
        if (StatX(AtFdCwd, path, AtSymlinkNoFollow, 0x1 | 0x2 | 0x100 | 0x200 | 0x40 | 0x80, buffer) != 0)
        {
            return null;
        }

        var inode = *(ulong*)(buffer + 32);
        var size = *(ulong*)(buffer + 40);
        var changed = (*(long*)(buffer + 96), *(uint*)(buffer + 104));
        var modified = (*(long*)(buffer + 112), *(uint*)(buffer + 120));
        return FormattableString.Invariant($"{inode}:{size}:{modified.Item1}.{modified.Item2}:{changed.Item1}.{changed.Item2}");
    }

    private static SafeFileHandle Open(string store, string runId, string name, out long size)
    {
        using var storeHandle = Check(OpenAt(AtFdCwd, store, ORdOnly | ODirectory | OCloExec, 0), store, "the store");
        using var runHandle = Check(
            OpenAt((int)storeHandle.DangerousGetHandle(), runId, ORdOnly | ODirectory | ONoFollow | OCloExec, 0), runId, "the run folder");
        var file = Check(
            OpenAt((int)runHandle.DangerousGetHandle(), name, ORdOnly | ONoFollow | ONonBlock | OCloExec | ONoCtty, 0), $"{runId}/{name}", "the file");
        if (!TryStat(file, out var mode, out size) || (mode & 0xF000) != 0x8000)
        {
            file.Dispose();
            throw new IOException($"{runId}/{name} is not a regular file (a store holds only regular files)");
        }

        return file;
    }

    private static SafeFileHandle Check(int fd, string path, string what)
    {
        if (fd >= 0)
        {
            return new SafeFileHandle(fd, ownsHandle: true);
        }

        var errno = Marshal.GetLastPInvokeError();
        throw errno switch
        {
            ENoEnt => new FileNotFoundException($"{path}: no such file", path),
            ELoop => new IOException($"{path}: {what} is a symbolic link, refused in a store"),
            ENotDir => new IOException($"{path}: {what} is not a directory"),
            _ => new IOException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
        };
    }

    private static unsafe bool TryStat(SafeFileHandle handle, out uint mode, out long size)
    {
        var buffer = stackalloc byte[256];
        mode = 0;
        size = 0;
        // statx has one layout on every architecture: stx_mode is the u16 at offset 28, stx_size the u64 at 40.
        if (StatX((int)handle.DangerousGetHandle(), "", AtEmptyPath, 0x1 | 0x200, buffer) != 0)
        {
            return false;
        }

        mode = *(ushort*)(buffer + 28);
        size = (long)*(ulong*)(buffer + 40);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenAt(int directoryFd, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatX(int directoryFd, string path, int flags, uint mask, byte* buffer);
}
