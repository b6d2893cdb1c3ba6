using Periscope.Bundle.Facts;
using Periscope.Collector.Correlation.Rules;
using Xunit;
using static Periscope.Collector.Tests.Correlation.RunNodes;

namespace Periscope.Collector.Tests.Correlation;

public sealed class ClockSkewRuleTests
{
    // RunNodes' bundles end at 10:00:03 by the node's clock.
    private static readonly DateTimeOffset Ended = new(2026, 11, 30, 10, 0, 3, TimeSpan.Zero);

    [Fact]
    public void Evaluate_BundleEndedAfterTheStoreReceivedIt_IsAClockAhead()
    {
        var nodes = new[]
        {
            Node("n1", receivedAt: Ended.AddSeconds(1)),
            Node("n2", receivedAt: Ended.AddSeconds(-45)), // its clock runs 45 s or more ahead
            Node("n3", receivedAt: Ended.AddMinutes(30)),  // a late upload: not a skew
        };

        var finding = Assert.Single(new ClockSkewRule().Evaluate(Context(nodes)));

        Assert.Equal(("CLOCK_SKEW", "node"), (finding.Code, finding.Scope));
        Assert.Equal(["n2"], finding.Nodes);
        Assert.Contains("ended 45 s after the store received it", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_TimeSyncFacts_UnsynchronisedOrLargeErrorAreReported()
    {
        var nodes = new[]
        {
            Node("n1", timeSync: new TimeSyncFacts { Service = "chronyd", State = "unsynchronized" }),
            Node("n2", timeSync: new TimeSyncFacts { Service = "chronyd", State = "synchronized", MaxErrorMicroseconds = 16_000_000 }),
            Node("n3", timeSync: new TimeSyncFacts { Service = "chronyd", State = "synchronized", MaxErrorMicroseconds = 1_500 }),
        };

        var finding = Assert.Single(new ClockSkewRule().Evaluate(Context(nodes)));

        Assert.Equal(["n1", "n2"], finding.Nodes);
        Assert.Contains("n1: chronyd reports the clock unsynchronised", finding.Detail, StringComparison.Ordinal);
        Assert.Contains("n2: the kernel estimates its clock error at 16 s", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_StartTimesFarApart_AreNotASkew()
    {
        // Trigger jitter: nodes started minutes apart, their clocks agree with the store.
        var late = Node("n2", receivedAt: Ended.AddMinutes(5).AddSeconds(1));
        late = late with { Manifest = late.Manifest! with { StartedAt = Ended.AddMinutes(5).AddSeconds(-3), EndedAt = Ended.AddMinutes(5) } };

        Assert.Empty(new ClockSkewRule().Evaluate(Context([Node("n1", receivedAt: Ended.AddSeconds(1)), late])));
    }
}
