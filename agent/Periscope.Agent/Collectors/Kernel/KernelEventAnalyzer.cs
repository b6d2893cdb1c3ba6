using System.Text;
using Periscope.Agent.Collection.LogRules;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Classifies kernel-facility records with the rule table and turns matches into observations, one per event:
/// <list type="bullet">
/// <item>An OOM kill spans several lines (a context line naming the cgroup, the kill line, on older kernels a detail
/// line with the memory figures, on cgroup v1 a "sacrifice child" line before the child actually killed); they are
/// one event, and the container is the <c>task_memcg</c>, not the <c>oom_memcg</c>. After "Tasks in … are going to
/// be killed due to memory.oom.group set" the kernel kills the victim again and its siblings: the same event, the
/// siblings listed in its attributes.</item>
/// <item>An oops or kernel warning is a block of lines up to its <c>---[ end trace … ]---</c>; a panic that follows
/// an oops, and the panic's own <c>---[ end Kernel panic … ]---</c> trailer, belong to that oops.</item>
/// <item>A recovery line (<c>nfs: server … OK</c>) marks the open event of its code and subject recovered.</item>
/// <item>Known noise (the virtual CD-ROM's I/O errors) is matched and left out.</item>
/// </list>
/// </summary>
internal sealed class KernelEventAnalyzer(LogRuleSet rules, ContainerDirectory containers, string nodeName, string evidencePath)
{
    private const int ContextReach = 64; // records an OOM context line stays attached to the next kill
    private const int BlockReach = 256; // records an oops stays open for its own lines (and a panic after it)
    private const int MaxDetail = 512;
    private const int MaxSiblings = 32;
    private readonly List<Observation> _observations = [];
    private readonly List<OomKill> _kills = [];
    private readonly Dictionary<string, long> _events = new(StringComparer.Ordinal);
    private OomContext? _context;
    private OomGroup? _group;
    private Block? _block;
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
                _group = null; // a new OOM event begins
                return;
            case "oom-group":
                _group = _kills.Count > 0 && _index - _kills[^1].Index <= ContextReach ? new OomGroup(_kills[^1], _index) : null;
                return;
            case "oom-kill":
                AddKill(match, record, evidenceLine);
                return;
            case "oom-detail":
                var last = _kills.Count > 0 ? _kills[^1] : null;
                if (last is not null && _index - last.Index <= 8 && (last.Pid == match.Group("pid") || last.SacrificesChild && !last.HasChild))
                {
                    last.Merge(match); // the memory figures of an older kernel's two-line kill, or the child it killed
                    return;
                }

                AddKill(match, record, evidenceLine);
                return;
            case "block-end":
                EndBlock(match, record, evidenceLine);
                return;
            case "recovery":
                Recover(match);
                return;
            case "ignore":
                return; // known noise, matched so that it is not taken for what it resembles
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
        if (BlockCodes.Contains(rule.Code) && _block is { } open && _index - open.Start <= BlockReach
            && (!open.Ended || (open.Code == KernelOops && IsPanic(match))))
        {
            // A line of the report already counted (an oops's "Oops:" after its "BUG:"), or the panic it led to.
            if (open.Code == KernelOops && IsPanic(match))
            {
                _observations[open.Observation] = WithAttribute(_observations[open.Observation], "panic", PanicReason(record.Text));
            }

            return;
        }

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
            Distinct = match.Distinct,
        });
        _block = BlockCodes.Contains(rule.Code) ? new Block(rule.Code, _observations.Count - 1, _index) : _block;
        if (rule.Code == KernelOops && IsPanic(match))
        {
            _observations[^1] = WithAttribute(_observations[^1], "panic", PanicReason(record.Text));
        }
    }

    /// <summary>Codes whose report is a block of lines ended by a <c>---[ end … ]---</c> line.</summary>
    private static readonly HashSet<string> BlockCodes = new(StringComparer.Ordinal) { KernelOops, "KERNEL_WARNING" };

    private const string KernelOops = "KERNEL_OOPS";

    private static bool IsPanic(LogRuleMatch match) => match.Match.Value.Contains("Kernel panic", StringComparison.Ordinal);

    private static string PanicReason(string text)
    {
        var at = text.IndexOf("not syncing:", StringComparison.Ordinal);
        return at < 0 ? text : text[(at + "not syncing:".Length)..].Trim().TrimEnd(']', '-', ' ');
    }

    /// <summary>
    /// <c>---[ end trace … ]---</c> closes the open oops or warning; <c>---[ end Kernel panic … ]---</c> belongs to the
    /// panic before it, and is the panic's only trace when the window starts after the panic line.
    /// </summary>
    private void EndBlock(LogRuleMatch match, KmsgRecord record, long evidenceLine)
    {
        var recent = _block is { } open && _index - open.Start <= BlockReach;
        if (match.Group("panic") is { } reason)
        {
            if (recent && _block!.Code == KernelOops)
            {
                _observations[_block.Observation] = WithAttribute(_observations[_block.Observation], "panic", reason.Trim());
                _block = _block with { Ended = true };
                return;
            }

            // Only the trailer is in the window: the panic happened all the same.
            Count(KernelOops);
            _observations.Add(new Observation
            {
                Code = KernelOops,
                Severity = Severity.Critical,
                Title = "Kernel panic",
                Detail = Trim(record.Text),
                Subject = new FindingSubject(SubjectKind.Node, _nodeName),
                Attributes = new Dictionary<string, string>(StringComparer.Ordinal) { ["panic"] = reason.Trim() },
                Time = record.Time,
                Evidence = new EvidenceReference(_evidencePath, evidenceLine),
            });
            _block = new Block(KernelOops, _observations.Count - 1, _index) { Ended = true };
            return;
        }

        if (recent)
        {
            _block = _block! with { Ended = true };
        }
    }

    /// <summary>Marks the latest open event of the code and subject recovered: it is kept, as information.</summary>
    private void Recover(LogRuleMatch match)
    {
        var subject = match.Subject(new FindingSubject(SubjectKind.Node, _nodeName));
        for (var i = _observations.Count - 1; i >= 0; i--)
        {
            var observation = _observations[i];
            if (observation.Code == match.Rule.Code && observation.Subject == subject)
            {
                if (!observation.Attributes.ContainsKey("recovered"))
                {
                    _observations[i] = WithAttribute(observation, "recovered", "true") with
                    {
                        Severity = Severity.Info,
                        Title = observation.Title + " (recovered)",
                    };
                }

                return;
            }
        }
    }

    private static Observation WithAttribute(Observation observation, string name, string value)
        => observation with { Attributes = new Dictionary<string, string>(observation.Attributes, StringComparer.Ordinal) { [name] = value } };

    private void AddKill(LogRuleMatch match, KmsgRecord record, long evidenceLine)
    {
        if (_group is { } group && _index - group.Index <= ContextReach)
        {
            group.Kill.AddGroupMember(match.Group("pid"), match.Group("process")); // memory.oom.group: the same event
            return;
        }

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

    /// <summary>A memory.oom.group kill in progress: the kills that follow within reach are its members.</summary>
    private sealed record OomGroup(OomKill Kill, long Index);

    /// <summary>An open oops or warning report: its observation, where it started, and whether its end line was seen.</summary>
    private sealed record Block(string Code, int Observation, long Start)
    {
        public bool Ended { get; init; }
    }

    private sealed class OomKill(LogRuleMatch match, KmsgRecord record, long evidenceLine, OomContext? context, long index)
    {
        private readonly Dictionary<string, string> _figures = Figures(match);
        private readonly List<string> _siblings = [];
        private string? _child;

        public long Index { get; } = index;

        public string? Pid { get; } = match.Group("pid");

        /// <summary>cgroup v1's "Kill process N (x) score S or sacrifice child": the process killed may be a child of N.</summary>
        public bool SacrificesChild { get; } = match.Match.Value.Contains("sacrifice child", StringComparison.Ordinal);

        public bool HasChild => _child is not null;

        public void Merge(LogRuleMatch detail)
        {
            foreach (var (name, value) in Figures(detail))
            {
                _figures[name] = value;
            }

            if (detail.Group("pid") is { } pid && pid != Pid)
            {
                _child = $"{pid} ({detail.Group("process")})";
            }
        }

        /// <summary>A process killed with the victim because its cgroup has memory.oom.group set (the victim's own repeat is not one).</summary>
        public void AddGroupMember(string? pid, string? process)
        {
            var member = $"{pid} ({process})";
            if (pid != Pid && _siblings.Count < MaxSiblings && !_siblings.Contains(member))
            {
                _siblings.Add(member);
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

            if (_child is not null)
            {
                attributes["killedChild"] = _child;
            }

            if (_siblings.Count > 0)
            {
                attributes["oomGroup"] = "true";
                attributes["groupKilled"] = string.Join(", ", _siblings);
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
