using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Hosting;
using Periscope.Agent.Runs;
using Periscope.Bundle;

namespace Periscope.Agent.Cli;

/// <summary>The <c>periscope-agent</c> command line.</summary>
internal static class AgentCli
{
    public static async Task<int> RunAsync(string[] args, TextWriter? stdout = null, TextWriter? stderr = null, Action<IServiceCollection>? configure = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;

        var hostRoot = new Option<string?>("--host-root") { Description = "The node's filesystem root: / on the node itself, /host in the DaemonSet, or a captured node directory." };
        var store = new Option<string?>("--out") { Description = "Store directory the bundle is written to (default ./periscope-data)." };
        var runId = new Option<string?>("--run-id") { Description = "Run id, [A-Za-z0-9][A-Za-z0-9._-]{0,62} (default: UTC start time yyyyMMddTHHmmssZ)." };
        var node = new Option<string?>("--node") { Description = "Node name (default: NODE_NAME, else the host's /etc/hostname)." };
        var collectors = new Option<string?>("--collectors") { Description = "Comma-separated collectors to run (default: all). See 'periscope-agent collectors'." };
        var since = new Option<string?>("--since") { Description = "Start of the log window: RFC 3339 time or a duration before now (90m, 2h, 1d). Default 24h." };
        var until = new Option<string?>("--until") { Description = "End of the log window: RFC 3339 time or a duration before now. Default now." };
        var offline = new Option<bool>("--offline") { Description = "Replay a captured node root: make no live probe (kernel clock, filesystem statistics, network)." };
        var json = new Option<bool>("--json") { Description = "Print exactly one JSON document on stdout." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log progress to stderr." };
        var configDirs = new Option<string[]>("--config-dir") { Description = "A directory of option files (a mounted ConfigMap or Secret), one setting per file named like Periscope__Sinks__Blob__Auth. Repeatable." };

        var collect = new Command("collect", "Collect diagnostics on this node once, seal one bundle into the store and print what is wrong. Exit code: 0 healthy, 1 warning, 2 critical, 3 could not run.")
        {
            hostRoot, store, runId, node, collectors, since, until, offline, json, verbose, configDirs,
        };
        collect.SetAction((parse, cancellationToken) => CollectAsync(new CollectArguments
        {
            HostRoot = parse.GetValue(hostRoot),
            Store = parse.GetValue(store),
            RunId = parse.GetValue(runId),
            Node = parse.GetValue(node),
            Collectors = parse.GetValue(collectors),
            Since = parse.GetValue(since),
            Until = parse.GetValue(until),
            Offline = parse.GetValue(offline),
            Json = parse.GetValue(json),
            Verbose = parse.GetValue(verbose),
            ConfigDirectories = parse.GetValue(configDirs) ?? [],
        }, stdout, stderr, configure, cancellationToken));

        var listHostRoot = new Option<string?>("--host-root") { Description = "The node's filesystem root." };
        var listJson = new Option<bool>("--json") { Description = "Print exactly one JSON document on stdout." };
        var list = new Command("collectors", "List the collectors and whether each is supported on this node, with the reason.") { listHostRoot, listJson };
        list.SetAction((parse, cancellationToken) => ListCollectorsAsync(parse.GetValue(listHostRoot), parse.GetValue(listJson), stdout, stderr, configure, cancellationToken));

        var redactIn = new Option<string>("--in") { Description = "The bundle to re-redact (a .zip).", Required = true };
        var redactOut = new Option<string>("--out") { Description = "Where the re-redacted bundle is written (must not exist).", Required = true };
        var redact = new Command("redact", "Re-redact an existing bundle with the current rules and verify its hashes. Exit code: 0 written, 3 could not.") { redactIn, redactOut };
        redact.SetAction((parse, cancellationToken) => RedactCommand.RunAsync(parse.GetValue(redactIn)!, parse.GetValue(redactOut)!, stdout, stderr, configure, cancellationToken));

        var runHostRoot = new Option<string?>("--host-root") { Description = "The node's filesystem root: / on the node itself, /host in the DaemonSet." };
        var runStore = new Option<string?>("--out") { Description = "The spool: store directory bundles are sealed into (default ./periscope-data)." };
        var runNode = new Option<string?>("--node") { Description = "Node name (default: NODE_NAME, else the host's /etc/hostname)." };
        var runConfigDirs = new Option<string[]>("--config-dir") { Description = "A directory of option files (a mounted ConfigMap or Secret), one setting per file named like Periscope__Sinks__Blob__Auth. Repeatable." };
        var runVerbose = new Option<bool>("--verbose", "-v") { Description = "Log debug detail to stderr." };
        var run = new Command("run", "Run as the node agent: wait for triggers (the run-id ConfigMap, an interval, POST /v1/runs), collect once per run id, seal each bundle into the spool and upload it. Stops cleanly on SIGTERM. Exit code: 0 stopped, 3 could not start.")
        {
            runHostRoot, runStore, runNode, runConfigDirs, runVerbose,
        };
        run.SetAction((parse, cancellationToken) => RunServiceAsync(
            parse.GetValue(runHostRoot), parse.GetValue(runStore), parse.GetValue(runNode), parse.GetValue(runConfigDirs) ?? [], parse.GetValue(runVerbose), stderr, configure));

        var removeNode = new Option<string?>("--node") { Description = "The node whose Periscope conditions are removed." };
        var removeAll = new Option<bool>("--all-nodes") { Description = "Remove Periscope's conditions from every node of the cluster (uninstall)." };
        var removeKubeconfig = new Option<string?>("--kubeconfig") { Description = "The kubeconfig to use (default: KUBECONFIG, else ~/.kube/config, else the pod's service account)." };
        var removeDryRun = new Option<bool>("--dry-run") { Description = "Print what would be removed; change nothing." };
        var remove = new Command("remove", "Remove every node condition Periscope owns (Periscope* types, and NPD-type conditions Periscope wrote) from a node or all nodes; nothing else is touched. Exit code: 0 done, 3 could not.")
        {
            removeNode, removeAll, removeKubeconfig, removeDryRun,
        };
        remove.SetAction((parse, cancellationToken) => RemoveConditionsAsync(
            parse.GetValue(removeNode), parse.GetValue(removeAll), parse.GetValue(removeKubeconfig), parse.GetValue(removeDryRun), stdout, stderr, cancellationToken));
        var conditions = new Command("conditions", "Manage the node conditions Periscope publishes (docs/signals.md).") { remove };

        var root = new RootCommand("periscope-agent: node-level Kubernetes diagnostics. Collects kernel, system and component diagnostics into one bundle per node per run.")
        {
            collect,
            run,
            list,
            redact,
            conditions,
        };

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
            {
                await stderr.WriteLineAsync($"periscope-agent: {error.Message}");
            }

            await stderr.WriteLineAsync("Try 'periscope-agent --help'.");
            return ExitCodes.Unknown;
        }

        // `run` stops on SIGTERM through the host, which gives the run in progress its grace period; the command
        // line's own handler would end the process two seconds after the signal.
        var isService = result.CommandResult.Command == run;
        return await result.InvokeAsync(new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            ProcessTerminationTimeout = isService ? null : TimeSpan.FromSeconds(2),
        });
    }

    private static async Task<int> RemoveConditionsAsync(
        string? node, bool allNodes, string? kubeconfig, bool dryRun, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if ((node is null) == !allNodes)
        {
            await stderr.WriteLineAsync("periscope-agent: give exactly one of --node NAME or --all-nodes.");
            return ExitCodes.Unknown;
        }

        try
        {
            var (client, _) = await Kubernetes.KubernetesApiClient.FromConfigurationAsync(kubeconfig, defaultChain: true);
            using (client)
            {
                var removed = await Signals.OwnedConditionCleanup.RunAsync(client, node, dryRun, TimeSpan.FromSeconds(30), cancellationToken);
                foreach (var (name, types) in removed)
                {
                    await stdout.WriteLineAsync($"{name}: {(dryRun ? "would remove" : "removed")} {string.Join(", ", types)}");
                }

                await stdout.WriteLineAsync($"{removed.Count} node(s) {(dryRun ? "hold" : "held")} Periscope conditions{(dryRun ? "; nothing changed (--dry-run)" : "; none is left")}.");
                return ExitCodes.Healthy;
            }
        }
        catch (Exception ex) when (Kubernetes.KubernetesApiClient.IsConfigurationError(ex) || ex is HttpRequestException or Kubernetes.KubernetesApiException or JsonException or OperationCanceledException or KeyNotFoundException or InvalidOperationException)
        {
            await stderr.WriteLineAsync($"periscope-agent: the conditions could not be removed: {(ex is OperationCanceledException ? "the API did not answer within 30 s" : ex.Message)}");
            return ExitCodes.Unknown;
        }
    }

    private static async Task<int> RunServiceAsync(
        string? hostRoot, string? store, string? node, string[] configDirectories, bool verbose, TextWriter stderr, Action<IServiceCollection>? configure)
    {
        try
        {
            var overrides = Overrides(hostRoot);
            if (store is not null)
            {
                overrides[$"{AgentOptions.SectionName}:Store"] = store;
            }

            if (node is not null)
            {
                overrides[$"{AgentOptions.SectionName}:Node"] = node;
            }

            using var host = AgentHost.BuildService(new HostSettings
            {
                Overrides = overrides,
                ConfigDirectories = configDirectories,
                Verbose = verbose,
                DefaultLevel = Microsoft.Extensions.Logging.LogLevel.Information,
                Configure = configure,
            });

            // Stops on SIGTERM or SIGINT (the host's console lifetime) and returns once the run in progress, if any,
            // has sealed its bundle or been abandoned.
            await host.RunAsync();
            return 0;
        }
        catch (Exception ex)
        {
            // Isolation boundary of the command: whatever stopped the agent from starting, exit code 3 and the reasons.
            var failures = AgentHost.ValidationFailures(ex);
            var message = failures is not null ? "invalid settings: " + string.Join(" ", failures)
                : ex is ArgumentException or IOException or UnauthorizedAccessException ? ex.Message
                : $"unexpected {ex.GetType().Name}: {ex.Message}";
            await stderr.WriteLineAsync($"periscope-agent run: {message}");
            return ExitCodes.Unknown;
        }
    }

    private static async Task<int> CollectAsync(
        CollectArguments arguments, TextWriter stdout, TextWriter stderr, Action<IServiceCollection>? configure, CancellationToken cancellationToken)
    {
        var storeDirectory = arguments.Store;
        string runId = arguments.RunId ?? string.Empty;
        string node = arguments.Node ?? string.Empty;
        try
        {
            // The run id is checked here, once; the run carries the value.
            RunId? requested = arguments.RunId is null ? null : RunId.Parse(arguments.RunId);

            using var host = AgentHost.Build(new HostSettings
            {
                Overrides = Overrides(arguments.HostRoot),
                ConfigDirectories = arguments.ConfigDirectories,
                Verbose = arguments.Verbose,
                Configure = configure,
            });
            await host.StartAsync(cancellationToken);
            var pipeline = host.Services.GetRequiredService<RunPipeline>();
            storeDirectory ??= host.Services.GetRequiredService<IOptions<AgentOptions>>().Value.Store;
            var now = host.Services.GetRequiredService<TimeProvider>().GetUtcNow();
            var selected = ParseCollectors(arguments.Collectors, pipeline.Collectors);

            var outcome = await pipeline.RunAsync(new RunSpec
            {
                RunId = requested,
                Node = arguments.Node ?? host.Services.GetRequiredService<IOptions<AgentOptions>>().Value.Node,
                Store = storeDirectory,
                Collectors = selected,
                Since = TimeArgument.Parse(arguments.Since, now, "--since"),
                Until = TimeArgument.Parse(arguments.Until, now, "--until"),
                Offline = arguments.Offline,
            }, cancellationToken);

            // A configured Blob sink is part of the run: a bundle that did not arrive is not a finished run (exit 3),
            // and it stays in the local store to be sent again.
            // The store is then a spool: this bundle and any an earlier run left pending are uploaded, oldest first.
            var spool = host.Services.GetRequiredService<Export.SpoolUploader>();
            Export.SpoolPass? pass = spool.Enabled ? await spool.RunAsync(storeDirectory, cancellationToken) : null;
            Export.UploadResult? upload = pass is null ? null
                : pass.Results.GetValueOrDefault(Path.GetFullPath(outcome.Bundle.BundlePath)) ?? new Export.UploadResult(false, null, "the bundle left the spool before it could be uploaded");
            await host.StopAsync(CancellationToken.None);

            var exitCode = upload is { Succeeded: false } ? ExitCodes.Unknown : (int)outcome.Health;
            if (upload is { Succeeded: false })
            {
                await stderr.WriteLineAsync($"periscope-agent collect: the bundle is sealed at {outcome.Bundle.BundlePath} but was not uploaded: {upload.Error}");
            }
            if (arguments.Json)
            {
                var document = new CollectOutput
                {
                    RunId = outcome.Bundle.Manifest.RunId,
                    Node = outcome.Bundle.Manifest.Node.Name,
                    Status = outcome.Health,
                    ExitCode = exitCode,
                    Bundle = outcome.Bundle.BundlePath,
                    StatusRecord = outcome.Bundle.StatusPath,
                    Counts = FindingCounts.Of(outcome.Findings),
                    Collectors = outcome.Bundle.Manifest.Collectors.Select(c => new CollectorSummary(c.Name, c.Status, c.DurationMs, c.Error)).ToList(),
                    Findings = outcome.Findings,
                    Upload = upload is null ? null : new UploadSummary(upload.Succeeded, upload.Location, upload.Error),
                    Spool = pass is null ? null : new SpoolSummary(pass.Uploaded, pass.Pending, pass.Evicted),
                };
                await stdout.WriteLineAsync(JsonSerializer.Serialize(document, CliJsonContext.Default.CollectOutput));
            }
            else
            {
                new SummaryPrinter(stdout, SummaryPrinter.UseColor(stdout)).Print(outcome);
                if (upload is { Succeeded: true })
                {
                    await stdout.WriteLineAsync($"Uploaded to {upload.Location}");
                }
            }

            return exitCode;
        }
        catch (Exception ex)
        {
            // The top of the command is an isolation boundary: whatever went wrong (bad input, an unwritable or full
            // store, cancellation, a defect), the caller gets exit code 3 — never 1 or 2, which judge the node —
            // a sentence on stderr, and with --json still exactly one document on stdout.
            var failures = AgentHost.ValidationFailures(ex);
            var message = ex switch
            {
                _ when failures is not null => string.Join(" ", failures),
                OperationCanceledException => "cancelled before the bundle was sealed",
                ArgumentException or IOException or UnauthorizedAccessException => ex.Message,
                _ => $"unexpected {ex.GetType().Name}: {ex.Message}",
            };
            await stderr.WriteLineAsync($"periscope-agent collect: {message}");
            if (arguments.Json)
            {
                await stdout.WriteLineAsync(JsonSerializer.Serialize(new CollectOutput
                {
                    RunId = runId,
                    Node = node,
                    Status = HealthStatus.Unknown,
                    ExitCode = ExitCodes.Unknown,
                    Error = message,
                }, CliJsonContext.Default.CollectOutput));
            }

            return ExitCodes.Unknown;
        }
    }

    private static async Task<int> ListCollectorsAsync(
        string? hostRoot, bool json, TextWriter stdout, TextWriter stderr, Action<IServiceCollection>? configure, CancellationToken cancellationToken)
    {
        try
        {
            using var host = AgentHost.Build(Overrides(hostRoot), verbose: false, configure);
            await host.StartAsync(cancellationToken);
            var pipeline = host.Services.GetRequiredService<RunPipeline>();
            var rows = pipeline.Collectors.Select(c =>
            {
                var support = c.CheckSupport(pipeline.Host);
                return new CollectorAvailability(c.Name, support.IsSupported, support.Reason, c.Description);
            }).ToList();
            await host.StopAsync(CancellationToken.None);

            if (json)
            {
                await stdout.WriteLineAsync(JsonSerializer.Serialize(new CollectorsOutput(rows), CliJsonContext.Default.CollectorsOutput));
            }
            else
            {
                foreach (var row in rows)
                {
                    await stdout.WriteLineAsync($"{row.Name,-11} {(row.Supported ? "supported" : "skipped"),-10} {row.Reason}");
                    await stdout.WriteLineAsync($"{string.Empty,-11} {string.Empty,-10} {row.Description}");
                }
            }

            return 0;
        }
        catch (Exception ex)
        {
            // Isolation boundary of the command: exit code 3 whatever failed.
            await stderr.WriteLineAsync($"periscope-agent collectors: {ex.Message}");
            return ExitCodes.Unknown;
        }
    }

    private static Dictionary<string, string?> Overrides(string? hostRoot)
    {
        var overrides = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (hostRoot is not null)
        {
            if (!Directory.Exists(hostRoot))
            {
                throw new ArgumentException($"--host-root '{hostRoot}' is not a directory.");
            }

            overrides[$"{AgentOptions.SectionName}:HostRoot"] = hostRoot;
        }

        return overrides;
    }

    private static List<string>? ParseCollectors(string? value, IReadOnlyList<ICollector> known)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        var unknown = names.Where(n => !known.Any(c => string.Equals(c.Name, n, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown collector(s) {string.Join(", ", unknown)}; known: {string.Join(", ", known.Select(c => c.Name))}.");
        }

        return names;
    }

    private sealed record CollectArguments
    {
        public string? HostRoot { get; init; }
        public string? Store { get; init; }
        public string? RunId { get; init; }
        public string? Node { get; init; }
        public string? Collectors { get; init; }
        public string? Since { get; init; }
        public string? Until { get; init; }
        public bool Offline { get; init; }
        public bool Json { get; init; }
        public bool Verbose { get; init; }
        public IReadOnlyList<string> ConfigDirectories { get; init; } = [];
    }
}
