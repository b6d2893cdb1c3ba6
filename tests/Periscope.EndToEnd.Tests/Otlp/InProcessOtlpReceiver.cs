using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Periscope.EndToEnd.Tests.Otlp.Collector;
using Periscope.EndToEnd.Tests.Otlp.Metrics;

namespace Periscope.EndToEnd.Tests.Otlp;

/// <summary>
/// An OTLP metrics receiver in process (no OpenTelemetry Collector can run here): Grpc.AspNetCore on loopback over
/// HTTP/2 cleartext, serving <c>/opentelemetry.proto.collector.metrics.v1.MetricsService/Export</c> from the tests' own
/// subset of the published .proto files, keeping every request it was sent.
/// </summary>
internal sealed class InProcessOtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Received _received;

    private InProcessOtlpReceiver(WebApplication app, Received received, Uri endpoint)
    {
        _app = app;
        _received = received;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    /// <summary>Every resource's metrics received so far.</summary>
    public IReadOnlyList<ResourceMetrics> ResourceMetrics => [.. _received.Requests.SelectMany(r => r.ResourceMetrics)];

    public static async Task<InProcessOtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var received = new Received();
        builder.Services.AddSingleton(received);
        var app = builder.Build();
        app.MapGrpcService<MetricsReceiver>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new InProcessOtlpReceiver(app, received, new Uri(address));
    }

    /// <summary>The data points of the newest export that carried the metric, with the metric, or an empty list.</summary>
    public IReadOnlyList<Metric> Latest(string name)
        => [.. ResourceMetrics.SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics).Where(m => m.Name == name)];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal sealed class Received
    {
        public ConcurrentQueue<ExportMetricsServiceRequest> Requests { get; } = new();
    }

    private sealed class MetricsReceiver(Received received) : MetricsService.MetricsServiceBase
    {
        public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
        {
            received.Requests.Enqueue(request);
            return Task.FromResult(new ExportMetricsServiceResponse());
        }
    }
}
