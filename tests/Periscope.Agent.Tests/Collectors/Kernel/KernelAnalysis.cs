using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Testing;

namespace Periscope.Agent.Tests.Collectors.Kernel;

/// <summary>The shipped rule table's analyzer for node <c>node-1</c>, fed kernel lines as the collector would.</summary>
internal static class KernelAnalysis
{
    /// <summary>An analyzer that names containers from <paramref name="root"/>'s <c>/var/log/containers</c>.</summary>
    public static KernelEventAnalyzer Analyzer(NodeRoot root)
        => new(KernelRules.Default, ContainerDirectory.Load(new HostRoot(root.Path)), "node-1", "kernel/kmsg.log");

    /// <summary>Each line as a kernel-facility error record, in order (evidence lines from 1); the observations.</summary>
    public static List<Observation> Analyze(IReadOnlyList<string> lines, NodeRoot root)
    {
        var analyzer = Analyzer(root);
        for (var i = 0; i < lines.Count; i++)
        {
            analyzer.Process(new KmsgRecord { Facility = 0, Level = 3, Text = lines[i] }, i + 1);
        }

        return [.. analyzer.Finish()];
    }
}
