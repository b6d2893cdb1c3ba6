using Periscope.Agent.Collection;
using Periscope.Bundle;

namespace Periscope.Agent.Analysis;

/// <summary>
/// Folds observations into findings on code + subject (+ the observation's <c>Distinct</c> value, where a rule sets
/// one): one pod's ten OOM kills become one finding with count 10; two pods' kills stay two findings. Keeps the worst severity, the first and last time, the latest attributes and a
/// bounded list of evidence places (the first and the most recent).
/// </summary>
internal static class FindingAggregator
{
    public const int MaxEvidence = Observation.MaxEvidence;

    public static List<Finding> Aggregate(IEnumerable<(string Collector, Collection.Observation Observation)> observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        var groups = new Dictionary<(string, SubjectKind, string, string?), Accumulator>();
        var order = new List<Accumulator>();
        foreach (var (collector, observation) in observations)
        {
            var key = (observation.Code, observation.Subject.Kind, observation.Subject.Id, observation.Distinct);
            if (!groups.TryGetValue(key, out var accumulator))
            {
                accumulator = new Accumulator(collector, observation);
                groups.Add(key, accumulator);
                order.Add(accumulator);
            }
            else
            {
                accumulator.Add(observation);
            }
        }

        return order
            .Where(a => a.Count >= a.MinCount)
            .Select(a => a.ToFinding())
            .OrderByDescending(f => f.Severity)
            .ThenByDescending(f => f.Count)
            .ThenBy(f => f.Code, StringComparer.Ordinal)
            .ThenBy(f => f.Subject.Id, StringComparer.Ordinal)
            .ToList();
    }

    private sealed class Accumulator(string collector, Collection.Observation first)
    {
        private readonly List<EvidenceReference> _evidence = first.Evidence is null ? [] : [first.Evidence];
        private readonly Dictionary<string, string> _attributes = new(first.Attributes, StringComparer.Ordinal);
        private Collection.Observation _latest = first;
        private Severity _severity = first.Severity;
        private DateTimeOffset? _first = first.Time;
        private DateTimeOffset? _last = first.Time;
        private long _dropped;

        public long Count { get; private set; } = Math.Max(1, first.Count);

        public int MinCount { get; private set; } = first.MinCount;

        public void Add(Collection.Observation observation)
        {
            Count += Math.Max(1, observation.Count);
            MinCount = Math.Max(MinCount, observation.MinCount);
            if (observation.Severity >= _severity)
            {
                _severity = observation.Severity;
                _latest = observation;
            }

            foreach (var (name, value) in observation.Attributes)
            {
                _attributes[name] = value;
            }

            if (observation.Time is { } time)
            {
                _first = _first is null || time < _first ? time : _first;
                _last = _last is null || time > _last ? time : _last;
            }

            if (observation.Evidence is not null)
            {
                if (_evidence.Count >= MaxEvidence)
                {
                    _evidence.RemoveAt(1); // keep the first place and the most recent ones
                    _dropped++;
                }

                _evidence.Add(observation.Evidence);
            }
        }

        public Finding ToFinding() => new()
        {
            Code = _latest.Code,
            Severity = _severity,
            Title = _latest.Title,
            Detail = Count > 1 ? $"{_latest.Detail} (seen {Count} times)".TrimStart() : _latest.Detail,
            Collector = collector,
            Subject = _latest.Subject,
            Attributes = _attributes,
            Count = Count,
            FirstSeen = _first,
            LastSeen = _last,
            Evidence = _evidence,
        };
    }
}
