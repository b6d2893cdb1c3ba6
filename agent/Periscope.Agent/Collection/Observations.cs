using System.Globalization;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>
/// The one way a collector's finding rule states what it saw: code, severity, title and subject, the figures as
/// attributes (formatted invariantly), where the evidence is, and the time from the run's clock.
/// </summary>
internal static class Observations
{
    /// <summary>An observation of <paramref name="code"/> about <paramref name="subject"/>, stamped now by the run's clock.</summary>
    /// <param name="context">The run: its clock.</param>
    /// <param name="code">A finding code (<see cref="FindingCodes"/>).</param>
    /// <param name="severity">How bad this event is.</param>
    /// <param name="title">One line for a human.</param>
    /// <param name="subject">What it is about.</param>
    /// <param name="detail">The figures that matter, in a sentence.</param>
    /// <param name="evidence">Where the evidence is.</param>
    /// <param name="attributes">Named figures; a null value is left out.</param>
    public static Observation Of(
        CollectionContext context, string code, Severity severity, string title, FindingSubject subject,
        string? detail = null, EvidenceReference? evidence = null, params ReadOnlySpan<(string Name, object? Value)> attributes)
    {
        ArgumentNullException.ThrowIfNull(context);
        var named = new Dictionary<string, string>(attributes.Length, StringComparer.Ordinal);
        foreach (var (name, value) in attributes)
        {
            if (value is not null && Convert.ToString(value, CultureInfo.InvariantCulture) is { } text)
            {
                named[name] = text;
            }
        }

        return new Observation
        {
            Code = code,
            Severity = severity,
            Title = title,
            Detail = detail,
            Subject = subject,
            Attributes = named,
            Time = context.Time.GetUtcNow(),
            Evidence = evidence,
        };
    }

    /// <summary>Reports what a rule returned, if anything.</summary>
    public static void Report(CollectionContext context, Observation? observation)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (observation is not null)
        {
            context.Output.Report(observation);
        }
    }

    /// <summary>The node itself as a finding's subject.</summary>
    public static FindingSubject Node(CollectionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new FindingSubject(SubjectKind.Node, context.NodeName);
    }
}
