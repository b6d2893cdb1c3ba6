using System.Text.RegularExpressions;
using Periscope.EndToEnd.Tests.Otlp;
using Periscope.EndToEnd.Tests.Otlp.Common;
using Periscope.EndToEnd.Tests.Otlp.Metrics;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// The native agent's OpenTelemetry metrics over OTLP/gRPC, configured only by the standard OTEL_* variables, as an
/// in-process receiver gets them: names, units, attributes, values and the resource.
/// </summary>
public sealed class OtlpExportTests : IAsyncLifetime
{
    private const string Token = "agent-local-token-0c3a";
    private const string NodeName = "otlp-node";
    private readonly TempDirectory _temp = new();
    private readonly NodeRoot _node = new();
    private InProcessOtlpReceiver _receiver = null!;
    private string _binary = null!;

    public async ValueTask InitializeAsync()
    {
        var binary = global::System.Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        _binary = binary!;
        File.WriteAllText(_temp.Combine("token"), Token);
        _receiver = await InProcessOtlpReceiver.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _node.Dispose();
        _temp.Dispose();
    }

    private static Dictionary<string, string> Attributes(IEnumerable<KeyValue> attributes)
        => attributes.ToDictionary(a => a.Key, a => a.Value.ValueCase switch
        {
            AnyValue.ValueOneofCase.StringValue => a.Value.StringValue,
            AnyValue.ValueOneofCase.BoolValue => a.Value.BoolValue ? "true" : "false",
            AnyValue.ValueOneofCase.IntValue => a.Value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => a.Value.ToString(),
        }, StringComparer.Ordinal);

    [Fact]
    public async Task Metrics_ReachAnOtlpReceiver_WithNamesUnitsAttributesValuesAndTheNodesResource()
    {
        // A replayed node whose kernel log holds a lockup a minute old: an active signal from the loop's first pass.
        var boot = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600);
        var lockup = DateTimeOffset.UtcNow.AddMinutes(-1);
        _node.File("/proc/stat", $"btime {boot.ToUnixTimeSeconds()}\n").File("/etc/hostname", NodeName + "\n")
            .File("/dev/kmsg", $"6,1,1000000,-;Linux version 6.8.0\n0,2,{(lockup - boot).Ticks / 10},-;watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [kworker/1:1:7]\n");
        await using var agent = await AgentProcess.StartAsync(_binary, new Dictionary<string, string>
        {
            ["Periscope__Http__Listen"] = "127.0.0.1:0",
            ["Periscope__Http__TokenFile"] = _temp.Combine("token"),
            ["Periscope__Triggers__ConfigMap__Source"] = "none",
            ["Periscope__Signals__Loop__Interval"] = "00:00:01",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _receiver.Endpoint.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        }, "--host-root", _node.Path, "--out", _temp.Combine("spool"), "--node", NodeName);
        using var accepted = await agent.PostRunAsync(Token, """{"runId":"otlp-1","collectors":"kernel"}""");
        await agent.WaitForLogAsync(new Regex("Run otlp-1 sealed"));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(_receiver.Latest("periscope.agent.runs").Count > 0 && _receiver.Latest("periscope.agent.collector.duration").Count > 0
                 && _receiver.Latest("periscope.agent.signals.active").Any(m => m.Gauge.DataPoints.Count > 0)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no metrics within 30 s\n" + agent.Stderr);
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        var resource = Attributes(_receiver.ResourceMetrics[^1].Resource.Attributes);
        Assert.Equal("periscope-agent", resource["service.name"]);
        Assert.Equal(NodeName, resource["k8s.node.name"]);
        Assert.False(string.IsNullOrEmpty(resource["service.version"]));

        var active = _receiver.Latest("periscope.agent.signals.active")[^1];
        Assert.Equal("{signal}", active.Unit);
        var point = Assert.Single(active.Gauge.DataPoints, p => Attributes(p.Attributes)["code"] == "KERNEL_SOFT_LOCKUP");
        Assert.Equal(1, point.AsInt);
        Assert.Equal("critical", Attributes(point.Attributes)["severity"]);
        Assert.Equal("PeriscopeKernelLockup", Attributes(point.Attributes)["condition"]);
        var verdict = _receiver.Latest("periscope.agent.signals.verdict")[^1];
        Assert.Equal(2, verdict.Gauge.DataPoints.Single().AsInt);

        var runs = _receiver.Latest("periscope.agent.runs")[^1];
        Assert.Equal("{run}", runs.Unit);
        Assert.True(runs.Sum.IsMonotonic);
        var completed = Assert.Single(runs.Sum.DataPoints, p => Attributes(p.Attributes)["state"] == "completed");
        Assert.Equal(1, completed.AsInt);

        var duration = _receiver.Latest("periscope.agent.collector.duration")[^1];
        Assert.Equal("s", duration.Unit);
        var kernel = Assert.Single(duration.Histogram.DataPoints, p => Attributes(p.Attributes)["collector"] == "kernel");
        Assert.Equal(1UL, kernel.Count);
        Assert.Equal("ok", Attributes(kernel.Attributes)["status"]);
        Assert.True(kernel.Sum is > 0 and < 60, $"kernel took {kernel.Sum} s");
        Assert.Contains(_receiver.Latest("periscope.agent.spool.bytes"), m => m.Unit == "By");
    }
}
