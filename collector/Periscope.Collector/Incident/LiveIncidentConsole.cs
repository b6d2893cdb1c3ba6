using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Periscope.Collector.Incident;

/// <summary>
/// The live display on a terminal (Spectre.Console): steps and details as lines, and during the watch one table —
/// the counts, then each node with its state, its time since the run started and why it has not reported — redrawn in
/// place after every poll (the cursor moved up over the previous table, which is then cleared). Nodes that have not
/// reported come first; past the terminal's height the rest are summed up in one row.
/// </summary>
internal sealed class LiveIncidentConsole : IIncidentConsole
{
    private readonly IAnsiConsole _console;
    private readonly TextWriter _output;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TimeSpan> _since = new(StringComparer.Ordinal);
    private int _drawn;

    public LiveIncidentConsole(TextWriter output, int? height = null)
    {
        _output = output;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 } ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(output),
        });
        Height = height ?? Math.Max(12, SafeHeight());
    }

    /// <summary>Rows the table may take.</summary>
    public int Height { get; }

    public void Step(string text) => Write(() => _console.MarkupLine($"[bold blue]==>[/] {Markup.Escape(text)}"));

    public void Line(string text) => Write(() => _console.MarkupLine(Markup.Escape(text)));

    public void Error(string text) => Write(() => _console.MarkupLine($"[bold red]error:[/] {Markup.Escape(text)}"));

    public void NodeChanged(NodeView view, TimeSpan elapsed)
    {
        lock (_lock)
        {
            _since[view.Node] = elapsed; // shown in the table: when the node reached its state
        }
    }

    public void Progress(IReadOnlyList<NodeView> views, TimeSpan elapsed)
    {
        lock (_lock)
        {
            Erase();
            var table = new Table().Border(TableBorder.Rounded)
                .Title($"{Markup.Escape(PlainIncidentConsole.Counts(views))} [grey]({elapsed.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s)[/]")
                .AddColumn("Node").AddColumn("State").AddColumn(new TableColumn("Since").RightAligned()).AddColumn("Why");
            var ordered = views.OrderBy(v => v.Reported ? 1 : 0).ThenBy(v => v.Node, StringComparer.Ordinal).ToList();
            var room = Math.Max(3, Height - 8);
            foreach (var view in ordered.Take(room))
            {
                table.AddRow(
                    new Markup(Markup.Escape(view.Node)),
                    new Markup(State(view.State)),
                    new Markup(_since.TryGetValue(view.Node, out var at) ? at.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s" : string.Empty),
                    new Markup(view.Reported || view.Why is null ? string.Empty : Markup.Escape(view.Why)));
            }

            if (ordered.Count > room)
            {
                table.AddRow(new Markup($"[grey]… {ordered.Count - room} more[/]"), new Markup(string.Empty), new Markup(string.Empty), new Markup(string.Empty));
            }

            var lines = CountLines(table);
            _console.Write(table);
            _output.Flush();
            _drawn = lines;
        }
    }

    private static string State(NodeState state) => state switch
    {
        NodeState.Uploaded => "[green]uploaded[/]",
        NodeState.Failed => "[red]failed[/]",
        NodeState.Sealed => "[yellow]sealed[/]",
        NodeState.Started => "[yellow]started[/]",
        NodeState.NotSelected => "[grey]not selected[/]",
        _ => "[grey]waiting[/]",
    };

    /// <summary>Lines and steps go below the last table, which is kept (the final picture stays on screen).</summary>
    private void Write(Action write)
    {
        lock (_lock)
        {
            _drawn = 0;
            write();
            _output.Flush();
        }
    }

    /// <summary>Moves up over the table drawn last and clears from there down.</summary>
    private void Erase()
    {
        if (_drawn > 0)
        {
            _output.Write($"\u001b[{_drawn.ToString(CultureInfo.InvariantCulture)}A\u001b[0J");
        }
    }

    private int CountLines(IRenderable renderable)
    {
        var options = RenderOptions.Create(_console, _console.Profile.Capabilities);
        var lines = 1;
        foreach (var segment in renderable.Render(options, _console.Profile.Width))
        {
            if (segment.IsLineBreak)
            {
                lines++;
            }
        }

        return lines - 1;
    }

    private static int SafeHeight()
    {
        try
        {
            return Console.WindowHeight;
        }
        catch (IOException)
        {
            return 40;
        }
    }
}
