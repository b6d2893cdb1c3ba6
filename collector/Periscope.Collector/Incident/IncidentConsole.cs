using System.Globalization;

namespace Periscope.Collector.Incident;

/// <summary>Where the incident command tells what it does.</summary>
internal interface IIncidentConsole
{
    /// <summary>A step begins or ends.</summary>
    void Step(string text);

    /// <summary>A detail line under the current step.</summary>
    void Line(string text);

    /// <summary>Something stopped the command.</summary>
    void Error(string text);

    /// <summary>One node changed state.</summary>
    void NodeChanged(NodeView view, TimeSpan elapsed);

    /// <summary>The whole picture after a poll (a live display redraws it; plain output prints only changes).</summary>
    void Progress(IReadOnlyList<NodeView> views, TimeSpan elapsed);
}

/// <summary>
/// Plain line-by-line progress for a pipe, a CI log or <c>az aks command invoke</c>: no ANSI, no redraw; each node's
/// state change is one line, with the time since the run started.
/// </summary>
internal sealed class PlainIncidentConsole(TextWriter output) : IIncidentConsole
{
    private readonly Lock _lock = new();
    private string? _counts;

    public void Step(string text) => Write($"==> {text}");

    public void Line(string text) => Write(text);

    public void Error(string text) => Write($"error: {text}");

    public void NodeChanged(NodeView view, TimeSpan elapsed)
        => Write(string.Create(CultureInfo.InvariantCulture, $"  [{elapsed.TotalSeconds,5:0}s] {view.Node}: {Words(view.State)}{(view.Why is null || view.Reported ? string.Empty : " — " + view.Why)}"));

    public void Progress(IReadOnlyList<NodeView> views, TimeSpan elapsed)
    {
        var counts = Counts(views);
        if (counts != _counts)
        {
            _counts = counts;
            Write(string.Create(CultureInfo.InvariantCulture, $"  [{elapsed.TotalSeconds,5:0}s] {counts}"));
        }
    }

    /// <summary>expected / started / sealed / uploaded / failed / missing, as one line.</summary>
    public static string Counts(IReadOnlyList<NodeView> views)
    {
        var expected = views.Count(v => v.State != NodeState.NotSelected);
        return $"expected {expected}, started {views.Count(v => v.State == NodeState.Started)}, sealed {views.Count(v => v.State == NodeState.Sealed)}, "
            + $"uploaded {views.Count(v => v.State == NodeState.Uploaded)}, failed {views.Count(v => v.State == NodeState.Failed)}, "
            + $"missing {views.Count(v => v.State == NodeState.Waiting)}, not selected {views.Count(v => v.State == NodeState.NotSelected)}";
    }

    public static string Words(NodeState state) => state switch
    {
        NodeState.Waiting => "waiting",
        NodeState.Started => "started",
        NodeState.Sealed => "sealed",
        NodeState.Uploaded => "uploaded",
        NodeState.Failed => "failed",
        NodeState.NotSelected => "not selected",
        _ => state.ToString(),
    };

    private void Write(string line)
    {
        lock (_lock)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}
