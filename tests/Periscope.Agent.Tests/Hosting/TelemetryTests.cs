using Microsoft.Extensions.Configuration;
using Periscope.Agent.Hosting;
using Xunit;

namespace Periscope.Agent.Tests.Hosting;

/// <summary>OTLP export is on only with an endpoint from the standard variables, and OTEL_SDK_DISABLED wins.</summary>
public sealed class TelemetryTests
{
    [Theory]
    [InlineData(null, null, null, false)]
    [InlineData("", null, null, false)]
    [InlineData("http://127.0.0.1:4317", null, null, true)]
    [InlineData(null, "http://127.0.0.1:4318/v1/metrics", null, true)]
    [InlineData("http://127.0.0.1:4317", null, "true", false)]
    [InlineData("http://127.0.0.1:4317", null, "TRUE", false)]
    [InlineData("http://127.0.0.1:4317", null, "false", true)]
    public void OtlpConfigured_FollowsTheStandardVariables(string? endpoint, string? metricsEndpoint, string? disabled, bool expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = metricsEndpoint,
            ["OTEL_SDK_DISABLED"] = disabled,
        }).Build();

        Assert.Equal(expected, Telemetry.OtlpConfigured(configuration));
    }
}
