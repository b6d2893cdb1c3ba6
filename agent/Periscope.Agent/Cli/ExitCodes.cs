namespace Periscope.Agent.Cli;

/// <summary>Exit codes shared by every command that judges health (the monitoring convention).</summary>
internal static class ExitCodes
{
    public const int Healthy = 0;
    public const int Warning = 1;
    public const int Critical = 2;
    public const int Unknown = 3;
}
