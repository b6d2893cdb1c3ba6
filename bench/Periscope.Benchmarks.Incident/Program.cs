using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Periscope.Testing;

// Incident time to first report: `periscope-collector incident` against the FAKE API server (N nodes, the agent
// DaemonSet installed, one agent pod per node), while N simulated agents — real `periscope-agent collect` processes
// over a captured node root, at most P at once — upload to Blob Storage (Azurite) once the run's ConfigMap names the
// run. Prints one line: seconds from the command's start to its report written, to the last agent's upload, and the
// command's own overhead (report written minus last upload).
//   periscope-bench-incident NODES PARALLEL AGENT_BINARY HOST_ROOT CONNECTION_FILE CONTAINER WORK_DIR
if (args.Length < 7)
{
    Console.Error.WriteLine("usage: periscope-bench-incident NODES PARALLEL AGENT_BINARY HOST_ROOT CONNECTION_FILE CONTAINER WORK_DIR");
    return 3;
}

var nodes = int.Parse(args[0], CultureInfo.InvariantCulture);
var parallel = int.Parse(args[1], CultureInfo.InvariantCulture);
var (agent, hostRoot, connectionFile, container, work) = (args[2], args[3], args[4], args[5], args[6]);
Directory.CreateDirectory(work);
await using var api = await FakeKubernetesApi.StartAsync();
api.PutObject("apps", "daemonsets", "periscope", new JsonObject
{
    ["metadata"] = new JsonObject { ["name"] = "periscope-agent", ["namespace"] = "periscope" },
    ["spec"] = new JsonObject
    {
        ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app.kubernetes.io/name"] = "periscope-agent" } },
        ["template"] = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "agent", ["image"] = "r.example/periscope-agent:1" }) } },
    },
});
var names = Enumerable.Range(0, nodes).Select(i => $"aks-nodepool1-{i:D5}").ToList();
foreach (var name in names)
{
    api.PutNode(name, new Dictionary<string, string> { ["kubernetes.azure.com/agentpool"] = "nodepool1" }, created: DateTimeOffset.UtcNow.AddDays(-1));
    api.PutAgentPod("periscope", "periscope-agent-" + name, name, new Dictionary<string, string> { ["app.kubernetes.io/name"] = "periscope-agent" });
}

var kubeconfig = api.WriteKubeconfig(Path.Combine(work, "kubeconfig"));
var runId = "incident-" + DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
var clock = Stopwatch.StartNew();
double lastUpload = 0;

// The agents: each starts when the ConfigMap names the run, as the DaemonSet's pods do.
var agents = Task.Run(async () =>
{
    while ((string?)api.ConfigMap("periscope-run")?["data"]?["runId"] != runId)
    {
        await Task.Delay(50);
    }

    await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (name, token) =>
    {
        var start = new ProcessStartInfo(agent)
        {
            ArgumentList = { "collect", "--host-root", hostRoot, "--node", name, "--run-id", runId, "--out", Path.Combine(work, "spool", name), "--since=2025-11-20T00:00:00Z", "--until=2025-11-21T00:00:00Z" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["Periscope__Sinks__Blob__Auth"] = "connection-string",
                ["Periscope__Sinks__Blob__ConnectionStringFile"] = connectionFile,
                ["Periscope__Sinks__Blob__Container"] = container,
            },
        };
        using var process = Process.Start(start)!;
        await Task.WhenAll(process.StandardOutput.ReadToEndAsync(token), process.StandardError.ReadToEndAsync(token), process.WaitForExitAsync(token));
        var done = clock.Elapsed.TotalSeconds;
        lock (names)
        {
            lastUpload = Math.Max(lastUpload, done);
        }
    });
});

var collector = Path.Combine(AppContext.BaseDirectory, "periscope-collector.dll");
var incident = new ProcessStartInfo("dotnet")
{
    ArgumentList = { collector, "incident", "--kubeconfig", kubeconfig, "--blob-connection-string-file", connectionFile, "--blob-container", container, "--run-id", runId, "--timeout", "300", "--out", Path.Combine(work, "out"), "--plain" },
    RedirectStandardOutput = true,
    RedirectStandardError = true,
};
using (var command = Process.Start(incident)!)
{
    var output = command.StandardOutput.ReadToEndAsync();
    var errors = command.StandardError.ReadToEndAsync();
    await command.WaitForExitAsync();
    await File.WriteAllTextAsync(Path.Combine(work, "incident.out"), await output + await errors);
}

var total = clock.Elapsed.TotalSeconds;
await agents;
var report = Path.Combine(work, "out", $"report-{runId}.json");
if (!File.Exists(report))
{
    Console.Error.WriteLine($"no report was written; see {Path.Combine(work, "incident.out")}");
    return 2;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{total:0.00} {lastUpload:0.00} {total - lastUpload:0.00}"));
return 0;
