namespace Periscope.Agent.Collectors.System;

/// <summary>The kernel clock's NTP discipline state (adjtimex): a live probe of the machine the agent runs on.</summary>
internal interface IKernelClock
{
    /// <summary>Reads the state; null with a reason when it cannot be read.</summary>
    KernelClockState? Read(out string? error);
}

/// <summary>What adjtimex reported.</summary>
/// <param name="Unsynchronized">STA_UNSYNC is set or the clock state is TIME_ERROR.</param>
/// <param name="MaxErrorMicroseconds">The kernel's maximum error estimate.</param>
internal sealed record KernelClockState(bool Unsynchronized, long MaxErrorMicroseconds);
