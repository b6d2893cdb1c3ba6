using System.Reflection;

namespace Periscope.Agent.Export;

/// <summary>The agent's version, as recorded in every manifest.</summary>
internal static class AgentVersion
{
    public static string Version { get; } =
        typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    public static string UserAgent => $"periscope-agent/{Version}";
}
