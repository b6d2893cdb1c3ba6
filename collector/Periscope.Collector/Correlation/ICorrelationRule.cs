
namespace Periscope.Collector.Correlation;

/// <summary>
/// One correlation rule: reads the whole run and says what no single node can. A rule is one type, registered in
/// <see cref="CorrelationRules"/>, with its codes in docs/report.md and its own test.
/// </summary>
internal interface ICorrelationRule
{
    /// <summary>Codes this rule can emit (the documentation test checks them against docs/report.md).</summary>
    IReadOnlyList<string> Codes { get; }

    IEnumerable<ClusterFinding> Evaluate(CorrelationContext context);
}
