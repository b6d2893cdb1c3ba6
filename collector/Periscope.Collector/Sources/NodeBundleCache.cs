using System.Collections.Concurrent;

namespace Periscope.Collector.Sources;

/// <summary>
/// Each node's read and judged bundle by the version of what the store holds for it (a blob's ETags; a file's size,
/// times and inode), for the runs read most recently: reading a run again costs only its new and changed bundles. A
/// result that could not be read (the store failed, not the bundle) is never kept.
/// </summary>
internal sealed class NodeBundleCache(int runs)
{
    private readonly Dictionary<string, RunEntries> _runs = new(StringComparer.Ordinal);
    private long _uses;

    /// <summary>True when the run's entries are kept (it was read recently).</summary>
    public bool Holds(string runId)
    {
        lock (_runs)
        {
            return _runs.ContainsKey(runId);
        }
    }

    /// <summary>The entries of <paramref name="runId"/>; the least recently used run's are dropped past the bound.</summary>
    public RunEntries For(string runId)
    {
        lock (_runs)
        {
            if (!_runs.TryGetValue(runId, out var entries))
            {
                entries = new RunEntries();
                _runs[runId] = entries;
                while (_runs.Count > runs)
                {
                    _runs.Remove(_runs.MinBy(r => r.Value.LastUse).Key);
                }
            }

            entries.LastUse = ++_uses;
            return entries;
        }
    }

    /// <summary>One run's nodes.</summary>
    internal sealed class RunEntries
    {
        private readonly ConcurrentDictionary<string, (string Version, NodeBundle Bundle)> _nodes = new(StringComparer.Ordinal);

        public long LastUse { get; set; }

        public bool TryGet(string node, string version, out NodeBundle bundle)
        {
            if (_nodes.TryGetValue(node, out var entry) && string.Equals(entry.Version, version, StringComparison.Ordinal))
            {
                bundle = entry.Bundle;
                return true;
            }

            bundle = null!;
            return false;
        }

        public void Set(string node, string version, NodeBundle bundle)
        {
            if (bundle.ReadFailed)
            {
                _nodes.TryRemove(node, out _);
                return;
            }

            _nodes[node] = (version, bundle);
        }

        /// <summary>Forgets the nodes the run no longer holds.</summary>
        public void Keep(IReadOnlyCollection<string> nodes)
        {
            var keep = nodes.ToHashSet(StringComparer.Ordinal);
            foreach (var node in _nodes.Keys.Where(n => !keep.Contains(n)).ToList())
            {
                _nodes.TryRemove(node, out _);
            }
        }
    }
}
