using System.Text;

namespace Periscope.Agent.Collectors.Cni;

/// <summary>
/// Counts packet-filter rules per table from <c>iptables-save</c> output (<c>*table</c> headers, <c>-A</c> rules) or
/// <c>nft list ruleset</c> output (rules are the statements inside <c>chain</c> blocks), line by line as it streams.
/// </summary>
internal sealed class RuleCounter(bool nft)
{
    private readonly Dictionary<string, long> _tables = new(StringComparer.Ordinal);
    private string _table = "?";
    private int _depth;
    private bool _inChain;

    public IReadOnlyDictionary<string, long> Tables => _tables;

    public long Total => _tables.Values.Sum();

    public void Line(ReadOnlySpan<byte> bytes)
    {
        var line = Encoding.UTF8.GetString(bytes).Trim();
        if (line.Length == 0 || line[0] == '#')
        {
            return;
        }

        if (!nft)
        {
            if (line[0] == '*')
            {
                _table = line[1..];
                _tables.TryAdd(_table, 0);
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal))
            {
                _tables[_table] = _tables.GetValueOrDefault(_table) + 1;
            }

            return;
        }

        if (line.EndsWith('{'))
        {
            if (IsRule(line))
            {
                Count(); // a rule whose set or map spans lines
            }

            _depth++;
            if (_depth == 1 && line.StartsWith("table ", StringComparison.Ordinal))
            {
                _table = line[6..^1].Trim(); // "ip filter", "inet cilium"
                _tables.TryAdd(_table, 0);
            }

            _inChain |= _depth == 2 && line.StartsWith("chain ", StringComparison.Ordinal);
            return;
        }

        if (line[0] == '}')
        {
            _depth = Math.Max(0, _depth - 1);
            _inChain &= _depth >= 2;
            return;
        }

        if (IsRule(line))
        {
            Count();
        }
    }

    private void Count() => _tables[_table] = _tables.GetValueOrDefault(_table) + 1;

    private bool IsRule(string line)
        => _inChain && _depth == 2 && !line.StartsWith("type ", StringComparison.Ordinal)
           && !line.StartsWith("policy ", StringComparison.Ordinal) && !line.StartsWith("comment ", StringComparison.Ordinal);
}
