using Periscope.Bundle;

namespace Periscope.Agent.Analysis;

/// <summary>A registered finding code: the public vocabulary documented in docs/findings.md.</summary>
/// <param name="Code">The code.</param>
/// <param name="Collector">The collector that raises it (<c>analysis</c> for joins).</param>
/// <param name="DefaultSeverity">Its usual severity (some codes take theirs from the event).</param>
/// <param name="Summary">What it means, in a line.</param>
internal sealed record FindingDefinition(string Code, string Collector, Severity DefaultSeverity, string Summary);
