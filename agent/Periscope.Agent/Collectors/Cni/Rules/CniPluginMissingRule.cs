using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Cni.Rules;

/// <summary><c>CNI_PLUGIN_MISSING</c>: on a Kubernetes node, a plugin the active config needs is absent or not executable.</summary>
internal static class CniPluginMissingRule
{
    /// <param name="context">The run.</param>
    /// <param name="plugin">Where the plugin was found, if anywhere.</param>
    /// <param name="active">The active config, which needs it.</param>
    /// <param name="binDirectories">Where plugins were looked for.</param>
    /// <param name="isNode">Whether this is a Kubernetes node.</param>
    public static Observation? Check(CollectionContext context, CniPluginFacts plugin, CniConfigFacts active, IReadOnlyList<string> binDirectories, bool isNode)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        ArgumentNullException.ThrowIfNull(active);
        ArgumentNullException.ThrowIfNull(binDirectories);
        if (!isNode || (plugin.Path is not null && plugin.Executable))
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.CniPluginMissing, Severity.Critical,
            plugin.Path is null ? $"CNI plugin {plugin.Type} is missing" : $"CNI plugin {plugin.Type} is not executable",
            new FindingSubject(SubjectKind.File, plugin.Path ?? $"{(binDirectories.Count > 0 ? binDirectories[0] : null)}/{plugin.Type}"),
            $"The active network {active.Name} ({active.File}) needs {plugin.Type}; looked in {string.Join(", ", binDirectories)}. Every pod sandbox fails to start.",
            evidence: null,
            ("plugin", plugin.Type), ("config", active.File));
    }
}
