namespace Periscope.Agent.Collectors.System.Rules;

/// <summary>Sizes as the system rules write them.</summary>
internal static class Units
{
    public static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:0.#} MiB";
}
