using Periscope.Agent.Collection;
using Periscope.Agent.Collection.LogRules;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Kubelet;

/// <summary>
/// Matches kubelet log entries against the signature table <c>kubelet-rules.json</c> (data, first match wins); each
/// match is an event pointing at its line of <c>kubelet/journal.log</c>. A storm of one signature (a PLEG problem
/// logs every few seconds for hours) is folded here: per code and subject only the first event and the latest few are
/// kept, the rest as a count, so memory does not grow with the log.
/// </summary>
internal sealed class KubeletLogSignatures(LogRuleSet rules, CollectionContext context)
{
    public const string ResourceName = "Periscope.Agent.kubelet-rules.json";
    private const int MaxDetail = 500;
    private const int KeptRecent = Observation.MaxEvidence - 1;
    private static readonly Lazy<LogRuleSet> Shipped = new(() => LogRuleSet.Parse(LogRuleSet.ReadEmbedded(ResourceName)));
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, SubjectKind, string), Storm> _storms = [];
    private readonly FindingSubject _node = new(SubjectKind.Node, context.NodeName);
    private readonly string _evidence = context.Output.BundlePath(UnitJournal.EvidenceFile);

    /// <summary>The table shipped inside the agent.</summary>
    public static LogRuleSet Default => Shipped.Value;

    /// <summary>Matching lines per finding code.</summary>
    public IReadOnlyDictionary<string, long> Counts => _counts;

    public void Inspect(JournalEntry entry, long line)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (rules.Match(entry.Message) is not { } match)
        {
            return;
        }

        var rule = match.Rule;
        _counts[rule.Code] = _counts.GetValueOrDefault(rule.Code) + 1;
        var observation = new Observation
        {
            Code = rule.Code,
            Severity = rule.SeverityFor(match.Match),
            Title = match.Title(),
            Detail = entry.Message.Length <= MaxDetail ? entry.Message : entry.Message[..MaxDetail] + "…",
            Subject = match.Subject(_node),
            Attributes = match.Attributes(),
            Time = entry.Time,
            Evidence = new EvidenceReference(_evidence, line),
            MinCount = rule.MinCount,
        };
        var key = (observation.Code, observation.Subject.Kind, observation.Subject.Id);
        if (!_storms.TryGetValue(key, out var storm))
        {
            _storms.Add(key, new Storm(observation));
            return;
        }

        storm.Recent.Enqueue(observation);
        if (storm.Recent.Count > KeptRecent)
        {
            storm.Recent.Dequeue();
            storm.Dropped++;
        }
    }

    /// <summary>Reports what was seen: per code and subject the first event, the folded middle, and the latest ones.</summary>
    public void Report()
    {
        foreach (var storm in _storms.Values)
        {
            context.Output.Report(storm.First);
            var first = true;
            foreach (var recent in storm.Recent)
            {
                context.Output.Report(first && storm.Dropped > 0 ? recent with { Count = 1 + storm.Dropped } : recent);
                first = false;
            }
        }

        _storms.Clear();
    }

    private sealed class Storm(Observation first)
    {
        public Observation First { get; } = first;
        public Queue<Observation> Recent { get; } = new();
        public long Dropped { get; set; }
    }
}
