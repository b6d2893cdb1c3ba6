using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Runs;

/// <summary>Top-level agent settings. Bound from <c>Periscope</c>; the CLI's flags override them.</summary>
public sealed class AgentOptions
{
    public const string SectionName = "Periscope";

    /// <summary>Where the node's filesystem is: <c>/</c> on the machine itself, <c>/host</c> in the DaemonSet.</summary>
    [Required]
    public string HostRoot { get; set; } = "/";

    /// <summary>Node name; when empty, <c>NODE_NAME</c>, else the host's <c>/etc/hostname</c>.</summary>
    public string? Node { get; set; }

    /// <summary>The local store directory (the embedded default sink).</summary>
    [Required]
    public string Store { get; set; } = "periscope-data";
}

[OptionsValidator]
internal sealed partial class AgentOptionsValidator : IValidateOptions<AgentOptions>;
