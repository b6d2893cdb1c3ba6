using System.Runtime.InteropServices;

namespace Periscope.Agent.Collectors.System;

/// <summary>
/// Reads the kernel clock state with adjtimex(2) in read-only mode (modes = 0, which needs no privilege). The
/// clock is the kernel's, shared by every container on the node, so this works from inside the DaemonSet.
/// </summary>
internal sealed partial class AdjtimexKernelClock : IKernelClock
{
    private const int TimeError = 5;
    private const int StaUnsync = 0x0040;

    public unsafe KernelClockState? Read(out string? error)
    {
        // struct timex on LP64 Linux: modes (u32 + pad) @0, offset @8, freq @16, maxerror @24, esterror @32,
        // status (int) @40; the whole struct is 208 bytes, the buffer is larger to be safe.
        var buffer = stackalloc byte[512];
        new Span<byte>(buffer, 512).Clear();
        var state = Adjtimex(buffer);
        if (state < 0)
        {
            error = $"adjtimex failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}";
            return null;
        }

        error = null;
        var status = *(int*)(buffer + 40);
        var maxError = *(long*)(buffer + 24);
        return new KernelClockState(state == TimeError || (status & StaUnsync) != 0, maxError);
    }

    [LibraryImport("libc", EntryPoint = "adjtimex", SetLastError = true)]
    private static unsafe partial int Adjtimex(byte* buffer);
}
