using System.Globalization;
using System.Net;
using System.Text;
using Periscope.Collector.Correlation;

namespace Periscope.Collector.Reports;

/// <summary>
/// The merged timeline as inline SVG (no script, no external reference): one row per node, each event a dot at its
/// first time and a bar to its last, a tooltip with node, code, count and title.
/// </summary>
internal static class TimelineSvg
{
    private const int Plot = 870;
    private const int Right = 20;

    /// <summary>Longest node label drawn; a longer name keeps its start and end around an ellipsis (the full name is its tooltip).</summary>
    private const int MaxLabel = 48;

    /// <summary>width of one label character at 12 px, generously (system sans-serif digits and lower case are narrower).</summary>
    private const double CharWidth = 7.2;
    private const int Row = 22;
    private const int Top = 28;

    public static string Render(IReadOnlyList<TimelineEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return string.Empty;
        }

        var nodes = events.Select(e => e.Node).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        // The label column fits the longest (shortened) name: node labels are never cut off.
        var labels = nodes.Select(Label).ToList();
        var left = (int)Math.Ceiling(Math.Max(80, (labels.Max(l => l.Length) * CharWidth) + 16));
        var width = left + Plot + Right;
        var start = events.Min(e => e.Time);
        var end = events.Max(e => e.LastSeen ?? e.Time);
        var span = Math.Max((end - start).TotalSeconds, 1);
        double X(DateTimeOffset t) => left + ((t - start).TotalSeconds / span * (width - left - Right));
        var height = Top + (nodes.Count * Row) + 10;

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Timeline of critical events\">");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"14\" font-size=\"11\" fill=\"#666\">{E(Words.Time(start))}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{width - Right}\" y=\"14\" font-size=\"11\" fill=\"#666\" text-anchor=\"end\">{E(Words.Time(end))}</text>");
        for (var i = 0; i < nodes.Count; i++)
        {
            var y = Top + (i * Row) + (Row / 2);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 8}\" y=\"{y + 4}\" font-size=\"12\" text-anchor=\"end\"><title>{E(nodes[i])}</title>{E(labels[i])}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{y}\" x2=\"{width - Right}\" y2=\"{y}\" stroke=\"#eee\"/>");
        }

        foreach (var e in events)
        {
            var y = Top + (nodes.IndexOf(e.Node) * Row) + (Row / 2);
            var x = X(e.Time);
            var tip = $"{e.Node} · {e.Code} ×{e.Count} · {Words.Time(e.Time)}{(e.LastSeen is null ? string.Empty : $" – {Words.Time(e.LastSeen)}")} · {e.Title}";
            svg.Append("<g>");
            svg.Append(CultureInfo.InvariantCulture, $"<title>{E(tip)}</title>");
            if (e.LastSeen is { } last)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x:0.#}\" y1=\"{y}\" x2=\"{X(last):0.#}\" y2=\"{y}\" stroke=\"#c62828\" stroke-width=\"4\" stroke-opacity=\"0.45\"/>");
            }

            svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x:0.#}\" cy=\"{y}\" r=\"5\" fill=\"#c62828\"/>");
            svg.Append("</g>");
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>A node's label: its name, or for a longer one its start and end around an ellipsis.</summary>
    internal static string Label(string node)
        => node.Length <= MaxLabel ? node : string.Concat(node.AsSpan(0, (MaxLabel / 2) - 1), "…", node.AsSpan(node.Length - (MaxLabel / 2)));

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
