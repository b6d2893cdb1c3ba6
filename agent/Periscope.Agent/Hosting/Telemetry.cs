using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Periscope.Agent.Collection;
using Periscope.Agent.Export;
using Periscope.Agent.Runs;

namespace Periscope.Agent.Hosting;

/// <summary>
/// OpenTelemetry metrics over OTLP, configured the standard way: on only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or
/// <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c>) is set and <c>OTEL_SDK_DISABLED</c> is not true; the exporter reads
/// the other <c>OTEL_EXPORTER_OTLP_*</c> variables (protocol, headers, timeout) and the reader
/// <c>OTEL_METRIC_EXPORT_INTERVAL</c> itself. The <c>Periscope.Agent</c> meter (<see cref="AgentMetrics"/>) is
/// exported with the resource <c>service.name=periscope-agent</c>, <c>service.version</c> and <c>k8s.node.name</c>.
/// </summary>
internal static class Telemetry
{
    public const string ServiceName = "periscope-agent";

    public static bool OtlpConfigured(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return !string.Equals(configuration["OTEL_SDK_DISABLED"], "true", StringComparison.OrdinalIgnoreCase)
            && (!string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]));
    }

    public static IServiceCollection AddOtlpMetrics(this IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(ServiceName, serviceVersion: AgentVersion.Version, autoGenerateServiceInstanceId: false)
                .AddDetector(sp => new NodeResourceDetector(sp.GetRequiredService<LocalNode>())))
            .WithMetrics(metrics => metrics.AddMeter(AgentMetrics.MeterName).AddOtlpExporter());
        return services;
    }

    /// <summary><c>k8s.node.name</c>: the node's name as the agent resolves it (NODE_NAME in the DaemonSet).</summary>
    private sealed class NodeResourceDetector(LocalNode node) : IResourceDetector
    {
        public Resource Detect()
        {
            try
            {
                var name = node.NameAsync(CancellationToken.None).GetAwaiter().GetResult();
                return new Resource([new KeyValuePair<string, object>("k8s.node.name", name)]);
            }
            catch (Exception ex) when (ex is ArgumentException or IOException)
            {
                return Resource.Empty;
            }
        }
    }
}
