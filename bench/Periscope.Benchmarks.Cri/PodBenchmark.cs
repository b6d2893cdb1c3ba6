using System.Diagnostics;
using System.Globalization;
using Periscope.EndToEnd.Tests.Pod;
using Periscope.Testing;

namespace Periscope.Benchmarks.Cri;

/// <summary>
/// The agent image as the DaemonSet's pod in a real containerd (the pod tests' fixture: the rendered dev overlay
/// translated as the kubelet does, the ConfigMap watch on against the fake API server over TLS). Per start:
/// StartContainer → first 2xx of the readiness probe, the agent process's own start → ready (10 ms clock ticks),
/// VmRSS at idle (ten samples a second apart from 25 s after ready: past the agent's settle, 20 s after start-up), VmHWM of one full run triggered through the run-id
/// ConfigMap, and VmRSS 25 s after that run. Medians over the starts. Needs root and the images from scripts/images.sh.
/// PERISCOPE_BENCH_CPU_LIMIT replaces the manifest's CPU limit; PERISCOPE_BENCH_SMAPS names a file for the idle
/// process's /proc/PID/smaps.
/// </summary>
internal static class PodBenchmark
{
    public static async Task<int> RunAsync(int starts)
    {
        await using var fixture = new AgentPodFixture();
        await ((Xunit.IAsyncLifetime)fixture).InitializeAsync();
        if (fixture.Missing is not null)
        {
            Console.Error.WriteLine(fixture.Missing);
            return 1;
        }

        var workload = await KubeletPod.RenderAsync("dev", "DaemonSet", "periscope-agent");
        if (Environment.GetEnvironmentVariable("PERISCOPE_BENCH_CPU_LIMIT") is { Length: > 0 } cpu)
        {
            // What the manifest's CPU limit costs the start: the same pod with another limit.
            var container = (YamlDotNet.RepresentationModel.YamlMappingNode)KubeletPod.Seq(KubeletPod.PodSpec(workload), "containers")[0];
            var limits = KubeletPod.Map(KubeletPod.Map(container, "resources")!, "limits")!;
            limits.Children[new YamlDotNet.RepresentationModel.YamlScalarNode("cpu")] = new YamlDotNet.RepresentationModel.YamlScalarNode(cpu);
            Console.WriteLine($"cpu limit {cpu}");
        }

        var rows = new List<(double Start, double Process, double Idle, double IdleAnon, double Peak, double After)>();
        for (var i = 0; i < starts; i++)
        {
            using var directory = new TempDirectory("periscope-pod-bench");
            var spool = directory.Combine("spool");
            var node = fixture.AgentNode(directory.Path, "bench-node", spool);
            var runId = "bench-" + i.ToString(CultureInfo.InvariantCulture);
            rows.Add(await fixture.WithPodAsync(workload, node, async pod =>
            {
                if (!pod.Ready)
                {
                    throw new InvalidOperationException("the agent pod never became ready:\n" + pod.Log);
                }

                var process = ProcessStartToNow(pod.ProcessId);
                // Idle is the state the agent waits in: after the start-up's settle (20 s), as after a run.
                await Task.Delay(TimeSpan.FromSeconds(25));
                var (idle, idleAnon) = await SampleAsync(pod);
                if (Environment.GetEnvironmentVariable("PERISCOPE_BENCH_SMAPS") is { Length: > 0 } smaps)
                {
                    // Where the idle resident memory is, mapping by mapping, for investigation.
                    File.Copy($"/proc/{pod.ProcessId}/smaps", smaps, overwrite: true);
                }

                fixture.Api.Put("periscope-run", new Dictionary<string, string> { ["runId"] = runId });
                var status = Path.Combine(spool, "spool", runId, "bench-node.status.json");
                var deadline = DateTime.UtcNow.AddMinutes(2);
                while (!File.Exists(status) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }

                fixture.Api.Delete("periscope-run");
                var peak = Kib(pod.Status("VmHWM"));
                await Task.Delay(TimeSpan.FromSeconds(25));
                var (after, _) = await SampleAsync(pod);
                return (pod.StartToReady.TotalMilliseconds, process, idle, idleAnon, peak, after);
            }));
            var last = rows[^1];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"start {i + 1}: StartContainer→ready {last.Start:F0} ms, process→ready {last.Process:F0} ms, idle {last.Idle / 1024:F1} MiB ({last.IdleAnon / 1024:F1} anonymous), run peak {last.Peak / 1024:F1} MiB, after run {last.After / 1024:F1} MiB"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median over {starts}: StartContainer→ready {Median(rows.Select(r => r.Start)):F0} ms, process→ready {Median(rows.Select(r => r.Process)):F0} ms, idle VmRSS {Median(rows.Select(r => r.Idle)) / 1024:F1} MiB ({Median(rows.Select(r => r.IdleAnon)) / 1024:F1} anonymous), run VmHWM {Median(rows.Select(r => r.Peak)) / 1024:F1} MiB, after run {Median(rows.Select(r => r.After)) / 1024:F1} MiB"));
        return 0;
    }

    /// <summary>Milliseconds since the process started (its /proc/PID/stat start time, in clock ticks since boot).</summary>
    private static double ProcessStartToNow(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var startTicks = double.Parse(fields[19], CultureInfo.InvariantCulture); // field 22 of the whole line
        var uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);
        return (uptime - startTicks / 100.0) * 1000;
    }

    private static async Task<(double Rss, double Anon)> SampleAsync(RunningPod pod)
    {
        var rss = new List<double>();
        var anon = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            rss.Add(Kib(pod.Status("VmRSS")));
            anon.Add(Kib(pod.Status("RssAnon")));
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        return (Median(rss), Median(anon));
    }

    private static double Kib(string? value) => double.Parse(value!.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
