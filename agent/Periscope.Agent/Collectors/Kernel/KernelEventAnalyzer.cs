using System.Text;
using Periscope.Agent.Collection.LogRules;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Classifies kernel-facility records with the rule table and turns matches into observations. An OOM kill spans
/// several lines (a context line naming the cgroup, the kill line, on older kernels a detail line with the memory
/// figures); they are joined into one event, and the container is the <c>task_memcg</c>, not the <c>oom_memcg</c>.
/// </summary>
internal sealed class KernelEventAnalyzer(LogRuleSet rules, ContainerDirectory containers, string nodeName, string evidencePath)
{
    private const int ContextReach = 64; // records an OOM context line stays attached to the next kill
    private const int MaxDetail = 512;
    private readonly List<Observation> _observations = [];
    private readonly List<OomKill> _kills = [];
    private readonly Dictionary<string, long> _events = new(StringComparer.Ordinal);
    private OomContext? _context;
    private long _index;

    public IReadOnlyDictionary<string, long> Events => _events;

    /// <summary>Records that matched any rule (the figure grep -c gives for the same patterns).</summary>
    public long MatchedRecords { get; private set; }

    /// <summary>The cheap pre-filter: false means no rule can match the text.</summary>
    public bool MayMatch(ReadOnlySpan<char> text) => rules.MayMatch(text);

    /// <summary>Offset of the first rule keyword in <paramref name="text"/>, or -1.</summary>
    public int FindKeyword(ReadOnlySpan<char> text) => text.IndexOfAny(rules.Keywords);

    public void Process(KmsgRecord record, long evidenceLine)
    {
        ArgumentNullException.ThrowIfNull(record);
        _index = evidenceLine; // the record's ordinal in the window: distances between OOM lines count every record
        if (!record.IsKernel)
        {
            return; // user-facility lines can say anything; only the kernel's own records are classified
        }

        var match = rules.Match(record.Text);
        if (match is null)
        {
            return;
        }

        MatchedRecords++;

        switch (match.Rule.Role)
        {
            case "oom-context":
                _context = new OomContext(match.Group("memcg"), match.Group("constraint"), match.Group("pid"), _index);
                return;
            case "oom-kill":
                AddKill(match, record, evidenceLine);
                return;
            case "oom-detail":
                var last = _kills.Count > 0 ? _kills[^1] : null;
                if (last is not null && last.Pid == match.Group("pid") && _index - last.Index <= 8)
                {
                    last.Merge(match); // the memory figures of an older kernel's two-line kill
                    return;
                }

                AddKill(match, record, evidenceLine);
                return;
            default:
                AddEvent(match, record, evidenceLine);
                return;
        }
    }

    /// <summary>The observations, once every record has been processed.</summary>
    public IReadOnlyList<Observation> Finish()
    {
        foreach (var kill in _kills)
        {
            _observations.Add(kill.ToObservation(this));
        }

        _kills.Clear();
        return _observations;
    }

    private void AddEvent(LogRuleMatch match, KmsgRecord record, long evidenceLine)
    {
        var rule = match.Rule;
        Count(rule.Code);
        _observations.Add(new Observation
        {
            Code = rule.Code,
            Severity = rule.SeverityFor(match.Match),
            Title = match.Title(),
            Detail = Trim(record.Text),
            Subject = match.Subject(new FindingSubject(SubjectKind.Node, _nodeName)),
            Attributes = match.Attributes(),
            Time = record.Time,
            Evidence = new EvidenceReference(_evidencePath, evidenceLine),
            MinCount = rule.MinCount,
        });
    }

    private void AddKill(LogRuleMatch match, KmsgRecord record, long evidenceLine)
    {
        var context = _context is not null && _index - _context.Index <= ContextReach
                      && (_context.Pid is null || _context.Pid == match.Group("pid"))
            ? _context
            : null;
        if (context is not null)
        {
            _context = null; // one context, one kill
        }

        Count(match.Rule.Code);
        _kills.Add(new OomKill(match, record, evidenceLine, context, _index));
    }

    private void Count(string code) => _events[code] = _events.GetValueOrDefault(code) + 1;

    private static string Trim(string text) => text.Length <= MaxDetail ? text : text[..MaxDetail] + "…";

    private sealed record OomContext(string? Memcg, string? Constraint, string? Pid, long Index);

    private sealed class OomKill(LogRuleMatch match, KmsgRecord record, long evidenceLine, OomContext? context, long index)
    {
        private readonly Dictionary<string, string> _figures = Figures(match);

        public long Index { get; } = index;

        public string? Pid { get; } = match.Group("pid");

        public void Merge(LogRuleMatch detail)
        {
            foreach (var (name, value) in Figures(detail))
            {
                _figures[name] = value;
            }
        }

        public Observation ToObservation(KernelEventAnalyzer owner)
        {
            var process = match.Group("process") ?? "?";
            var scope = match.Group("scope");
            var memcgKill = context?.Constraint == "CONSTRAINT_MEMCG"
                || (context?.Constraint is null && scope is not null && scope.StartsWith("Memory cgroup", StringComparison.Ordinal));
            var attributes = new Dictionary<string, string>(_figures, StringComparer.Ordinal)
            {
                ["process"] = process,
                ["scope"] = memcgKill ? "cgroup" : "global",
            };
            if (Pid is not null)
            {
                attributes["pid"] = Pid;
            }

            if (context?.Constraint is { } constraint)
            {
                attributes["constraint"] = constraint;
            }

            var subject = new FindingSubject(SubjectKind.Node, owner._nodeName);
            var where = string.Empty;
            if (context?.Memcg is { Length: > 0 } memcg)
            {
                attributes["memcg"] = memcg;
                var identity = CgroupPath.Parse(memcg);
                if (identity.QosClass is not null)
                {
                    attributes["qosClass"] = identity.QosClass;
                }

                if (identity.PodUid is not null)
                {
                    attributes["podUid"] = identity.PodUid;
                    subject = new FindingSubject(SubjectKind.Pod, identity.PodUid);
                    if (owner._containers.FindPod(identity.PodUid) is { } pod)
                    {
                        attributes["namespace"] = pod.Namespace;
                        attributes["pod"] = pod.Pod;
                        where = $" in pod {pod.Namespace}/{pod.Pod}";
                    }
                }

                if (identity.ContainerId is not null)
                {
                    attributes["containerId"] = identity.ContainerId;
                    subject = new FindingSubject(SubjectKind.Container, identity.ContainerId);
                    if (owner._containers.FindContainer(identity.ContainerId) is { } named)
                    {
                        attributes["namespace"] = named.Namespace;
                        attributes["pod"] = named.Pod;
                        attributes["container"] = named.Container;
                        where = $" in {named.Namespace}/{named.Pod}/{named.Container}";
                    }
                }
            }

            var figures = _figures.TryGetValue("anonRssKb", out var anon) ? $" (anon-rss {anon} kB)" : string.Empty;
            return new Observation
            {
                Code = match.Rule.Code,
                Severity = memcgKill ? Severity.Warning : Severity.Critical,
                Title = memcgKill ? $"Container memory limit hit: OOM killer killed {process}{where}" : $"Node out of memory: OOM killer killed {process}{where}",
                Detail = Trim(record.Text) + figures,
                Subject = subject,
                Attributes = attributes,
                Time = record.Time,
                Evidence = new EvidenceReference(owner._evidencePath, evidenceLine),
            };
        }

        private static Dictionary<string, string> Figures(LogRuleMatch match)
        {
            var figures = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in new[] { "totalVmKb", "anonRssKb", "fileRssKb" })
            {
                if (match.Group(name) is { } value)
                {
                    figures[name] = value;
                }
            }

            return figures;
        }
    }

    private readonly string _nodeName = nodeName;
    private readonly ContainerDirectory _containers = containers;
    private readonly string _evidencePath = evidencePath;
}
