using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Periscope.Agent.Collection;

/// <summary>
/// The few Linux calls that opening host files by descriptor needs: <c>openat</c>, <c>openat2</c>, <c>statx</c> and
/// <c>readlinkat</c>. <c>statx</c> has one layout on every architecture (unlike <c>struct stat</c>); two open flags
/// differ between x86-64 and arm64.
/// </summary>
internal static unsafe partial class Native
{
    public const int AtFdCwd = -100;
    public const int ORdOnly = 0x0;
    public const int ONoCtty = 0x100;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;
    public const int OPath = 0x200000;
    public const int ENoEnt = 2;
    public const int EAcces = 13;
    public const int EPerm = 1;
    public const int ENotDir = 20;
    public const int ENoSys = 38;

    public static readonly int ODirectory = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;
    public static readonly int ONoFollow = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    private const long SysOpenat2 = 437; // the same number on every architecture (added after the syscall tables were unified)
    private const ulong ResolveNoMagicLinks = 0x02;
    private const ulong ResolveInRoot = 0x10;
    private const int AtEmptyPath = 0x1000;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    public static int OpenAt(SafeFileHandle directory, string path, int flags, int mode)
    {
        var added = false;
        directory.DangerousAddRef(ref added);
        try
        {
            return OpenAt((int)directory.DangerousGetHandle(), path, flags, mode);
        }
        finally
        {
            directory.DangerousRelease();
        }
    }

    /// <summary><c>openat2(root, path, {flags, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS})</c>; -1 with errno on failure.</summary>
    public static int OpenAt2(SafeFileHandle root, string path, int flags)
    {
        var how = new OpenHow { Flags = (ulong)flags, Mode = 0, Resolve = ResolveInRoot | ResolveNoMagicLinks };
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        var added = false;
        root.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = bytes)
            {
                return (int)Syscall(SysOpenat2, (int)root.DangerousGetHandle(), p, &how, (nuint)sizeof(OpenHow));
            }
        }
        finally
        {
            root.DangerousRelease();
        }
    }

    /// <summary>The file type and permission bits, and the size, of an open descriptor.</summary>
    public static bool TryStat(SafeFileHandle handle, out uint mode, out long size)
    {
        var buffer = stackalloc byte[256];
        mode = 0;
        size = 0;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            // stx_mode is the u16 at offset 28, stx_size the u64 at 40.
            if (StatX((int)handle.DangerousGetHandle(), "", AtEmptyPath, 0x1 | 0x200, buffer) != 0)
            {
                return false;
            }
        }
        finally
        {
            handle.DangerousRelease();
        }

        mode = *(ushort*)(buffer + 28);
        size = (long)*(ulong*)(buffer + 40);
        return true;
    }

    /// <summary>The file type and permission bits of what a path names (a final link followed).</summary>
    public static bool TryStat(string path, out uint mode)
    {
        var buffer = stackalloc byte[256];
        mode = 0;
        if (StatX(AtFdCwd, path, 0, 0x1, buffer) != 0)
        {
            return false;
        }

        mode = *(ushort*)(buffer + 28);
        return true;
    }

    /// <summary>The id of the mount a path lies on (<c>stx_mnt_id</c>, Linux 5.8), following links; false when unknown.</summary>
    public static bool TryMountId(string path, out ulong mountId)
    {
        var buffer = stackalloc byte[256];
        mountId = 0;
        const uint MountIdMask = 0x1000; // STATX_MNT_ID
        if (StatX(AtFdCwd, path, 0, MountIdMask, buffer) != 0 || (*(uint*)buffer & MountIdMask) == 0)
        {
            return false;
        }

        mountId = *(ulong*)(buffer + 144); // stx_mnt_id
        return true;
    }

    /// <summary>The target of a symbolic link held by an <c>O_PATH | O_NOFOLLOW</c> descriptor.</summary>
    public static string ReadLink(SafeFileHandle link)
    {
        var buffer = new byte[4096];
        var added = false;
        link.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = buffer)
            {
                var length = ReadLinkAt((int)link.DangerousGetHandle(), "", p, (nuint)buffer.Length);
                if (length < 0)
                {
                    throw new IOException($"readlinkat failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                }

                return Encoding.UTF8.GetString(buffer, 0, (int)length);
            }
        }
        finally
        {
            link.DangerousRelease();
        }
    }

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenAt(int directoryFd, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int directoryFd, byte* path, OpenHow* how, nuint size);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatX(int directoryFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadLinkAt(int directoryFd, string path, byte* buffer, nuint size);
}
