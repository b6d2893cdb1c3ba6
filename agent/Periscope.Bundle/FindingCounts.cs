using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>Number of findings per severity.</summary>
/// <param name="Info">Informational findings.</param>
/// <param name="Warning">Warning findings.</param>
/// <param name="Critical">Critical findings.</param>
public sealed record FindingCounts([property: JsonRequired] int Info, [property: JsonRequired] int Warning, [property: JsonRequired] int Critical)
{
    /// <summary>Counts the findings of a list.</summary>
    public static FindingCounts Of(IEnumerable<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        int info = 0, warning = 0, critical = 0;
        foreach (var finding in findings)
        {
            switch (finding.Severity)
            {
                case Severity.Critical: critical++; break;
                case Severity.Warning: warning++; break;
                default: info++; break;
            }
        }

        return new FindingCounts(info, warning, critical);
    }

    /// <summary>The health these counts stand for.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public HealthStatus Health => Critical > 0 ? HealthStatus.Critical : Warning > 0 ? HealthStatus.Warning : HealthStatus.Healthy;
}
