using Microsoft.Extensions.Options;
using Periscope.Agent.Analysis;
using Periscope.Bundle;

namespace Periscope.Agent.Signals;

/// <summary>What one check saw: its findings, and which codes it could have seen (an absent one is evidence of absence).</summary>
/// <param name="At">When the check ran.</param>
/// <param name="Findings">Its findings (redacted, as in the bundle).</param>
/// <param name="Covers">Whether the check looks for a code: only such a code's absence counts toward clearing it.</param>
/// <param name="Incremental">True when each finding counts only what is new since the previous check (the signal loop's kernel reads).</param>
internal sealed record SignalObservation(DateTimeOffset At, IReadOnlyList<Finding> Findings, Func<string, bool> Covers, bool Incremental = false)
{
    /// <summary>A full run: it covers the codes of every collector that ran to completion (ok); a partial, failed or skipped one proves nothing absent.</summary>
    public static SignalObservation FromRun(DateTimeOffset at, IReadOnlyList<Finding> findings, IEnumerable<string> completedCollectors)
    {
        var completed = completedCollectors.ToHashSet(StringComparer.Ordinal);
        return new SignalObservation(at, findings, code => FindingCatalog.IsRegistered(code) && completed.Contains(FindingCatalog.Get(code).Collector));
    }
}

/// <summary>A new occurrence of an Event-kind signal, for the Event publisher.</summary>
internal sealed record SignalOccurrence(Signal Signal, long NewOccurrences, string Detail);

/// <summary>One condition type's desired state: True with the code behind it, or False once every code of it was checked.</summary>
internal sealed record DesiredCondition(string Type, bool True, string Reason, string Message);

/// <summary>
/// The node's signals over time, from every check that reports findings (full runs and the signal loop): a signal
/// becomes active on the first sighting of its finding and clears only after the finding has been absent for the
/// hold-down period (docs/signals.md). Absence needs evidence: a check that covers the code and did not see it (for
/// a logged event, which happens once, its time is its last sighting). Thread-safe.
/// </summary>
internal sealed class SignalTracker(IOptions<SignalOptions> options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Code, SubjectKind Kind, string Id), Entry> _entries = [];
    private readonly Dictionary<string, DateTimeOffset> _firstCovered = new(StringComparer.Ordinal);
    private readonly List<SignalOccurrence> _occurrences = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _observations;
    private DateTimeOffset? _lastObservation;

    private TimeSpan HoldDown => options.Value.HoldDown;

    /// <summary>Observations taken in so far.</summary>
    public long Observations
    {
        get
        {
            lock (_lock)
            {
                return _observations;
            }
        }
    }

    /// <summary>When the latest observation was taken in.</summary>
    public DateTimeOffset? LastObservation
    {
        get
        {
            lock (_lock)
            {
                return _lastObservation;
            }
        }
    }

    /// <summary>Completes at the next observation or adoption.</summary>
    public Task Changed
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    public void Observe(SignalObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        var at = observation.At;
        lock (_lock)
        {
            var seen = new HashSet<(string, SubjectKind, string)>();
            foreach (var finding in observation.Findings)
            {
                var rule = SignalMap.Get(finding.Code);
                if (rule is null || rule.Kind == SignalKind.None || finding.Severity < SignalRule.SignalSeverity)
                {
                    continue;
                }

                var timed = finding.LastSeen is not null;
                var sighted = finding.LastSeen is { } last && last < at ? last : at;
                if (timed && sighted <= at - HoldDown)
                {
                    continue; // an event of the past (a full run's window reaches back hours): history, not a signal
                }

                var key = (finding.Code, finding.Subject.Kind, finding.Subject.Id);
                long newOccurrences;
                if (!_entries.TryGetValue(key, out var entry))
                {
                    var since = finding.FirstSeen is { } first && first > at - HoldDown && first <= sighted ? first : sighted;
                    entry = new Entry(rule, finding.Subject) { Since = since, LastSeen = sighted, Timed = timed };
                    _entries[key] = entry;
                    newOccurrences = Math.Max(1, finding.Count);
                }
                else
                {
                    // A signal-loop check reports only records new since its last pass; a full run's window repeats old ones.
                    newOccurrences = !timed ? 0 : observation.Incremental ? Math.Max(1, finding.Count) : sighted > entry.LastSeen ? 1 : 0;
                    entry.Timed = timed;
                    if (sighted > entry.LastSeen)
                    {
                        entry.LastSeen = sighted;
                    }
                }

                entry.Severity = finding.Severity;
                entry.Title = finding.Title;
                entry.Count += newOccurrences;
                entry.AbsentSince = null;
                seen.Add(key);
                if (newOccurrences > 0 && rule.Kind == SignalKind.Event)
                {
                    _occurrences.Add(new SignalOccurrence(ToSignal(entry), newOccurrences, finding.Detail ?? finding.Title));
                    if (_occurrences.Count > 1000)
                    {
                        _occurrences.RemoveAt(0); // nobody is taking them (events off): keep a bound
                    }
                }
            }

            foreach (var rule in SignalMap.All)
            {
                if (observation.Covers(rule.Code))
                {
                    _firstCovered.TryAdd(rule.Code, at);
                }
            }

            foreach (var (key, entry) in _entries)
            {
                if (!seen.Contains(key) && entry.AbsentSince is null && observation.Covers(entry.Rule.Code))
                {
                    entry.AbsentSince = at;
                }
            }

            _observations++;
            _lastObservation = at;
            Signal();
        }
    }

    /// <summary>
    /// Carries a condition found True on the node at start-up over as an active signal (its code from the reason), so
    /// a restart neither clears it nor restarts its clock: it clears like any signal, once a check covering its code
    /// has not seen it for the hold-down period.
    /// </summary>
    public void Adopt(string conditionType, string? reason, string? message, DateTimeOffset transitioned, string node, bool npd)
    {
        var rules = SignalMap.RulesOf(conditionType, npd);
        var code = SignalMap.CodeOfReason(reason);
        var rule = rules.FirstOrDefault(r => r.Code == code) ?? (rules.Count > 0 ? rules[0] : null);
        if (rule is null)
        {
            return;
        }

        lock (_lock)
        {
            var subject = new FindingSubject(SubjectKind.Node, node);
            var key = (rule.Code, SubjectKind.Node, node);
            if (_entries.ContainsKey(key))
            {
                return;
            }

            var now = time.GetUtcNow();
            _entries[key] = new Entry(rule, subject)
            {
                Since = transitioned,
                LastSeen = now,
                Severity = rule.ConditionSeverity,
                Title = TitleOf(message) ?? rule.Code,
            };
            Signal();
        }
    }

    /// <summary>Occurrences of Event-kind signals since the last call.</summary>
    public IReadOnlyList<SignalOccurrence> TakeOccurrences()
    {
        lock (_lock)
        {
            var taken = _occurrences.ToList();
            _occurrences.Clear();
            return taken;
        }
    }

    /// <summary>The signals as they stand at <paramref name="now"/>; signals whose hold-down has run out are dropped.</summary>
    public NodeSignals Evaluate(DateTimeOffset now)
    {
        lock (_lock)
        {
            Prune(now);
            var signals = _entries.Values.Select(ToSignal)
                .OrderByDescending(s => s.Condition is not null)
                .ThenByDescending(s => s.Severity).ThenByDescending(s => s.Action).ThenBy(s => s.Since).ThenBy(s => s.Code, StringComparer.Ordinal)
                .ThenBy(s => s.Subject.Id, StringComparer.Ordinal)
                .ToList();
            var holding = signals.Where(s => s.Condition is not null).ToList();
            var verdict = holding.Count > 0 ? SignalVerdict.Unhealthy : signals.Count > 0 ? SignalVerdict.Degraded : SignalVerdict.Healthy;
            var worst = holding.OrderByDescending(s => s.Action).ThenBy(s => s.Since).FirstOrDefault();
            var action = worst?.Action ?? SignalAction.None;
            string reason;
            if (worst is not null)
            {
                reason = $"{worst.Code} on {Describe(worst.Subject)}: {SignalMap.Get(worst.Code)!.Why}";
            }
            else if (signals.Count > 0)
            {
                reason = $"no signal calls for repair ({string.Join(", ", signals.Select(s => s.Code).Distinct(StringComparer.Ordinal).Take(5))})";
            }
            else
            {
                reason = "no active signal";
            }

            return new NodeSignals { EvaluatedAt = now, Verdict = verdict, Action = action, Reason = reason, Signals = signals };
        }
    }

    /// <summary>
    /// Each condition type's desired state at <paramref name="now"/>: True while a signal of one of its codes holds
    /// it; False once every one of its codes has been checked at least once since start; absent (unknown, never
    /// published) before that.
    /// </summary>
    public IReadOnlyList<DesiredCondition> DesiredConditions(DateTimeOffset now, IEnumerable<string> types, bool npd)
    {
        ArgumentNullException.ThrowIfNull(types);
        lock (_lock)
        {
            Prune(now);
            var desired = new List<DesiredCondition>();
            foreach (var type in types)
            {
                var rules = SignalMap.RulesOf(type, npd);
                var holders = _entries.Values
                    .Where(e => (e.Rule.Condition == type || (npd && e.Rule.NpdCondition == type)) && e.Severity >= e.Rule.ConditionSeverity)
                    .OrderBy(e => e.Since).ThenBy(e => e.Rule.Code, StringComparer.Ordinal).ToList();
                if (holders.Count > 0)
                {
                    var first = holders[0];
                    var more = holders.Count > 1 ? $" (and {holders.Count - 1} more)" : string.Empty;
                    desired.Add(new DesiredCondition(type, true, first.Rule.Reason,
                        Bound($"{SignalMap.MessagePrefix}{first.Rule.Code} on {Describe(first.Subject)}: {first.Title}{more}")));
                }
                else if (rules.Count > 0 && rules.All(r => _firstCovered.ContainsKey(r.Code)))
                {
                    desired.Add(new DesiredCondition(type, false, "NoProblem",
                        $"{SignalMap.MessagePrefix}no {string.Join(", ", rules.Select(r => r.Code))} finding"));
                }
            }

            return desired;
        }
    }

    /// <summary>The next moment a signal's hold-down runs out (when the conditions may change without a new observation).</summary>
    public DateTimeOffset? NextExpiry()
    {
        lock (_lock)
        {
            DateTimeOffset? next = null;
            foreach (var entry in _entries.Values)
            {
                if (ClearsAt(entry) is { } at && (next is null || at < next))
                {
                    next = at;
                }
            }

            return next;
        }
    }

    private static string Describe(FindingSubject subject)
        => subject.Kind == SubjectKind.Node ? "the node" : $"{subject.Kind.ToString().ToLowerInvariant()} {subject.Id}";

    /// <summary>The finding title in a message this tracker wrote (<c>periscope-agent: CODE on SUBJECT: title</c>).</summary>
    private static string? TitleOf(string? message)
    {
        if (message is null || !message.StartsWith(SignalMap.MessagePrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var colon = message.IndexOf(": ", SignalMap.MessagePrefix.Length, StringComparison.Ordinal);
        return colon < 0 ? null : message[(colon + 2)..];
    }

    private static string Bound(string message) => message.Length <= 512 ? message : message[..509] + "...";

    private DateTimeOffset? ClearsAt(Entry entry)
        => entry.Timed ? entry.LastSeen + HoldDown
            : entry.AbsentSince is { } absent ? absent + HoldDown
            : null;

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries.ToList())
        {
            if (ClearsAt(entry) is { } at && at <= now)
            {
                _entries.Remove(key);
            }
        }
    }

    private Signal ToSignal(Entry entry)
    {
        var clears = ClearsAt(entry);
        return new Signal
        {
            Code = entry.Rule.Code,
            Severity = entry.Severity,
            Subject = entry.Subject,
            Title = entry.Title,
            Condition = entry.Severity >= entry.Rule.ConditionSeverity ? entry.Rule.Condition : null, // only a type it holds True
            Scope = entry.Rule.Scope,
            Action = entry.Rule.Action,
            State = entry.AbsentSince is null ? SignalState.Active : SignalState.HoldingDown,
            Since = entry.Since,
            LastSeen = entry.LastSeen,
            ClearsAt = clears,
            Count = Math.Max(1, entry.Count),
        };
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private sealed class Entry(SignalRule rule, FindingSubject subject)
    {
        public SignalRule Rule { get; } = rule;
        public FindingSubject Subject { get; } = subject;
        public Severity Severity { get; set; }
        public string Title { get; set; } = string.Empty;
        public DateTimeOffset Since { get; set; }
        public DateTimeOffset LastSeen { get; set; }
        public DateTimeOffset? AbsentSince { get; set; }
        public bool Timed { get; set; }
        public long Count { get; set; }
    }
}
