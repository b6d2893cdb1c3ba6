using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Periscope.Bundle;
using Periscope.Collector.Correlation;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Cli;

/// <summary>The <c>periscope-collector</c> command line.</summary>
internal static class CollectorCli
{
    private const int Unknown = 3;

    public static async Task<int> RunAsync(string[] args, TextWriter? stdout = null, TextWriter? stderr = null, TimeProvider? timeProvider = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        timeProvider ??= TimeProvider.System;

        var store = new Option<string?>("--store") { Description = "Store directory holding <runId>/<node>.zip bundles." };
        var blobUrl = new Option<string?>("--blob-container-url") { Description = "Read the store from this Blob container URL instead: with a SAS granting read and list (https://account.blob.core.windows.net/container?sv=...), or without one and --blob-auth workload-identity or managed-identity." };
        var blobConnection = new Option<string?>("--blob-connection-string-file") { Description = "Read the store from Blob Storage with the connection string in this file (with --blob-container)." };
        var blobContainer = new Option<string?>("--blob-container") { Description = "The container, with --blob-connection-string-file (default periscope)." };
        var (blobAuth, blobClientId) = IdentityOptions();
        var runId = new Option<string?>("--run-id") { Description = "Run to read (default: the run with the newest start time)." };
        var format = new Option<string>("--format") { Description = "json, markdown or html.", DefaultValueFactory = _ => "markdown" };
        format.AcceptOnlyFromAmong("json", "markdown", "html");
        var output = new Option<string?>("--out") { Description = "Write the report to this file instead of stdout." };
        var expectedNodes = new Option<string>("--expected-nodes")
        {
            Description = "Where the nodes the run should have come from: auto (the Kubernetes nodes list when --kubeconfig is given or in a pod, else the previous run), kubernetes, previous-run.",
            DefaultValueFactory = _ => "auto",
        };
        expectedNodes.AcceptOnlyFromAmong(ExpectedNodeSources.Modes);
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "A kubeconfig to list the cluster's nodes with (needs list on nodes)." };
        var nodeSelector = new Option<string?>("--node-selector") { Description = $"Label selector of the agent DaemonSet's nodes (default {KubernetesNodeList.DefaultLabelSelector})." };
        var configDir = new Option<string[]>("--config-dir") { Description = "A directory of option files, one per key (Periscope__Correlation__ClusterShare), as a mounted ConfigMap; environment variables win." };
        var parallelReads = ParallelReadsOption();
        var report = new Command("report", "Read every bundle of a run, verify what is read, and render the health report. Exit code: 0 healthy, 1 warning, 2 critical, 3 unknown or could not run.")
        {
            store, blobUrl, blobConnection, blobContainer, blobAuth, blobClientId, runId, format, output, expectedNodes, kubeconfig, nodeSelector, configDir, parallelReads,
        };
        report.SetAction((parse, cancellationToken) => ReportAsync(
            new SourceArguments(parse.GetValue(store), parse.GetValue(blobUrl), parse.GetValue(blobConnection), parse.GetValue(blobContainer), parse.GetValue(blobAuth), parse.GetValue(blobClientId), parse.GetValue(parallelReads)),
            new ReportArguments(parse.GetValue(runId), parse.GetValue(format)!, parse.GetValue(output), parse.GetValue(expectedNodes)!, parse.GetValue(kubeconfig), parse.GetValue(nodeSelector), parse.GetValue(configDir) ?? []),
            stdout, stderr, timeProvider, cancellationToken));

        var verifyStore = new Option<string?>("--store") { Description = "Store directory." };
        var verifyBlobUrl = new Option<string?>("--blob-container-url") { Description = "A Blob container URL: with a SAS granting read and list, or without one and --blob-auth workload-identity or managed-identity." };
        var verifyBlobConnection = new Option<string?>("--blob-connection-string-file") { Description = "A file holding a Blob connection string (with --blob-container)." };
        var verifyBlobContainer = new Option<string?>("--blob-container") { Description = "The container (default periscope)." };
        var (verifyBlobAuth, verifyBlobClientId) = IdentityOptions();
        var verifyRun = new Option<string?>("--run-id") { Description = "Run to verify (default: the latest)." };
        var verifyJson = new Option<bool>("--json") { Description = "Print exactly one JSON document on stdout." };
        var verifyParallelReads = ParallelReadsOption();
        var verify = new Command("verify", "Check every entry of every bundle of a run against its manifest and status record. Exit code: 0 intact, 1 incomplete bundles, 2 corrupt bundles, 3 could not run.")
        {
            verifyStore, verifyBlobUrl, verifyBlobConnection, verifyBlobContainer, verifyBlobAuth, verifyBlobClientId, verifyRun, verifyJson, verifyParallelReads,
        };
        verify.SetAction((parse, cancellationToken) => VerifyAsync(
            new SourceArguments(parse.GetValue(verifyStore), parse.GetValue(verifyBlobUrl), parse.GetValue(verifyBlobConnection), parse.GetValue(verifyBlobContainer), parse.GetValue(verifyBlobAuth), parse.GetValue(verifyBlobClientId), parse.GetValue(verifyParallelReads)),
            parse.GetValue(verifyRun), parse.GetValue(verifyJson), stdout, stderr, cancellationToken));

        var serveStore = new Option<string?>("--store") { Description = "Store directory to serve (default Periscope:Server:Store)." };
        var serveToken = new Option<string?>("--token-file") { Description = "File holding the operator token (a mounted Secret); required." };
        var serveListen = new Option<string?>("--listen") { Description = "Address and port (default 127.0.0.1:8080)." };
        var serveBlobUrl = new Option<string?>("--blob-container-url") { Description = "Serve the store of this Blob container instead of a directory: a URL with a SAS granting read and list, or without one and --blob-auth workload-identity or managed-identity." };
        var serveBlobConnection = new Option<string?>("--blob-connection-string-file") { Description = "Serve the store of a Blob container, with the connection string in this file (with --blob-container)." };
        var serveBlobContainer = new Option<string?>("--blob-container") { Description = "The container (default periscope)." };
        var (serveBlobAuth, serveBlobClientId) = IdentityOptions();
        var serveKubeconfig = new Option<string?>("--kubeconfig") { Description = "A kubeconfig to start runs and list nodes with (default in a pod: its service account)." };
        var serveConfigDir = new Option<string[]>("--config-dir") { Description = "A directory of option files, one per key (Periscope__Server__Listen), as a mounted ConfigMap; environment variables win." };
        var serve = new Command("serve", "Serve the store's runs, reports and bundles to operators (web pages and API), behind the operator token. Exit code: 0 stopped, 3 could not start.")
        {
            serveStore, serveBlobUrl, serveBlobConnection, serveBlobContainer, serveBlobAuth, serveBlobClientId, serveToken, serveListen, serveKubeconfig, serveConfigDir,
        };
        serve.SetAction((parse, cancellationToken) => ServeAsync(
            new SourceArguments(parse.GetValue(serveStore), parse.GetValue(serveBlobUrl), parse.GetValue(serveBlobConnection), parse.GetValue(serveBlobContainer), parse.GetValue(serveBlobAuth), parse.GetValue(serveBlobClientId)),
            parse.GetValue(serveToken), parse.GetValue(serveListen), parse.GetValue(serveKubeconfig), parse.GetValue(serveConfigDir) ?? [], stderr, cancellationToken));

        var incident = IncidentCli.Command(stdout, stderr, timeProvider);

        var root = new RootCommand("periscope-collector: correlate the bundles of a run into a health report.") { report, verify, serve, incident };
        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
            {
                await stderr.WriteLineAsync($"periscope-collector: {error.Message}");
            }

            await stderr.WriteLineAsync("Try 'periscope-collector --help'.");
            return Unknown;
        }

        // Ctrl-C in `incident` cancels the watch, and the command goes on to the report and says what is left running:
        // the command line's handler would end the process two seconds after the signal, so it gets minutes there.
        return await result.InvokeAsync(new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            ProcessTerminationTimeout = result.CommandResult.Command == incident ? TimeSpan.FromMinutes(5) : TimeSpan.FromSeconds(2),
        });
    }

    private static async Task<int> ReportAsync(
        SourceArguments sourceArguments, ReportArguments arguments, TextWriter stdout, TextWriter stderr, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        try
        {
            var configuration = CollectorConfiguration.Build(arguments.ConfigDirectories);
            var correlation = CollectorConfiguration.Correlation(configuration);
            var expected = ExpectedNodeSources.Open(arguments.ExpectedNodes, arguments.Kubeconfig, arguments.NodeSelector);
            var reporter = new RunReporter(sourceArguments.Open(), timeProvider, correlation, expected);
            var (report, nodes) = await reporter.BuildAsync(arguments.RunId, cancellationToken);
            foreach (var node in nodes.Where(n => n.Rejected is not null))
            {
                await stderr.WriteLineAsync($"periscope-collector: {node.BundlePath}: {(node.Incomplete ? "incomplete" : "rejected")}: {node.Rejected}");
            }

            if (report.ExpectedNodes?.Error is { } expectedError)
            {
                await stderr.WriteLineAsync($"periscope-collector: expected nodes: {expectedError}");
            }

            var format = arguments.Format;
            var output = arguments.Output;
            if (format == "json" && (output is not null || ReferenceEquals(stdout, Console.Out)))
            {
                // Streamed: a large run's report (tens of MB) is never held as one string.
                await WriteAsync(output, async stream =>
                {
                    await JsonSerializer.SerializeAsync(stream, report, ReportJsonContext.Default.HealthReport, cancellationToken);
                    stream.WriteByte((byte)'\n');
                }, cancellationToken);
            }
            else
            {
                // Rendered as it is written, node by node: never held as one string.
                void Render(TextWriter writer)
                {
                    switch (format)
                    {
                        case "json":
                            writer.Write(JsonSerializer.Serialize(report, ReportJsonContext.Default.HealthReport));
                            writer.Write('\n');
                            break;
                        case "html":
                            HtmlReportRenderer.Render(report, writer);
                            break;
                        default:
                            MarkdownReportRenderer.Render(report, writer);
                            break;
                    }
                }

                if (output is null && !ReferenceEquals(stdout, Console.Out))
                {
                    Render(stdout);
                }
                else
                {
                    await WriteAsync(output, stream =>
                    {
                        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
                        Render(writer);
                        return Task.CompletedTask;
                    }, cancellationToken);
                }
            }

            return (int)report.Status;
        }
        catch (Exception ex)
        {
            // Isolation boundary of the command: whatever failed, exit code 3 (never 1 or 2, which judge health).
            await stderr.WriteLineAsync($"periscope-collector report: {ex.Message}");
            return Unknown;
        }
    }

    /// <summary>
    /// Writes to standard output, or to <paramref name="output"/> through a temporary file renamed into place, so a
    /// failed write never leaves half a report behind.
    /// </summary>
    private static async Task WriteAsync(string? output, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        if (output is null)
        {
            await using var stdout = Console.OpenStandardOutput();
            await write(stdout);
            await stdout.FlushAsync(cancellationToken);
            return;
        }

        var temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, $".{Path.GetFileName(output)}.{Environment.ProcessId}.tmp");
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                await write(file);
            }

            File.Move(temporary, output, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static async Task<int> VerifyAsync(SourceArguments sourceArguments, string? runId, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            var source = sourceArguments.Open();
            runId ??= RunReporter.Latest(await source.ListRunStartsAsync(cancellationToken), source);
            var results = await source.VerifyRunAsync(runId, cancellationToken);
            var exitCode = results.Any(r => r.Outcome == "corrupt") ? 2 : results.Any(r => r.Outcome == "incomplete") ? 1 : 0;
            if (json)
            {
                await stdout.WriteLineAsync(JsonSerializer.Serialize(new VerifyOutput(runId, exitCode, results), ReportJsonContext.Default.VerifyOutput));
            }
            else
            {
                foreach (var result in results)
                {
                    await stdout.WriteLineAsync($"{result.Outcome,-10} {result.BundlePath}");
                    foreach (var problem in result.Problems)
                    {
                        await stdout.WriteLineAsync($"           {problem}");
                    }
                }

                await stdout.WriteLineAsync($"{results.Count(r => r.Outcome == "ok")} of {results.Count} bundles of run {runId} intact.");
            }

            return exitCode;
        }
        catch (Exception ex)
        {
            // Isolation boundary of the command: whatever failed, exit code 3.
            await stderr.WriteLineAsync($"periscope-collector verify: {ex.Message}");
            return Unknown;
        }
    }

    private static async Task<int> ServeAsync(
        SourceArguments source, string? tokenFile, string? listen, string? kubeconfig, IReadOnlyList<string> configDirectories, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder(new Microsoft.AspNetCore.Builder.WebApplicationOptions { Args = [] });
            // Requests are not logged one by one unless asked for (Logging__LogLevel__Microsoft.AspNetCore=Information).
            ((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
            {
                InitialData = [new("Logging:LogLevel:Microsoft.AspNetCore", "Warning")],
            });
            CollectorConfiguration.AddDirectories(builder.Configuration, configDirectories);

            // The flags win over every other source: they are the configuration's last one.
            var flags = new Dictionary<string, string?>(StringComparer.Ordinal);
            void Flag(string key, string? value)
            {
                if (value is not null)
                {
                    flags[$"{Api.ServerOptions.SectionName}:{key}"] = value;
                }
            }

            Flag(nameof(Api.ServerOptions.Kubeconfig), kubeconfig);
            Flag(nameof(Api.ServerOptions.Store), source.Store);
            Flag(nameof(Api.ServerOptions.BlobContainerUrl), source.BlobUrl);
            Flag(nameof(Api.ServerOptions.BlobConnectionStringFile), source.ConnectionStringFile);
            Flag(nameof(Api.ServerOptions.BlobContainer), source.Container);
            Flag(nameof(Api.ServerOptions.BlobAuth), source.Auth);
            Flag(nameof(Api.ServerOptions.BlobClientId), source.ClientId);
            Flag(nameof(Api.ServerOptions.TokenFile), tokenFile);
            Flag(nameof(Api.ServerOptions.Listen), listen);
            builder.Configuration.AddInMemoryCollection(flags);
            var correlation = CollectorConfiguration.Correlation(builder.Configuration);

            Api.CollectorServer.ConfigureServices(builder.Services, correlation);
            builder.Services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>()
                .Configure<IOptions<Api.ServerOptions>>((kestrel, server) => kestrel.Listen(System.Net.IPEndPoint.Parse(server.Value.Listen)));
            var app = builder.Build();
            Api.CollectorServer.Configure(app);

            // Reading the options checks them (every problem at once), before anything listens.
            var options = app.Services.GetRequiredService<IOptions<Api.ServerOptions>>().Value;
            await stderr.WriteLineAsync($"periscope-collector: serving {app.Services.GetRequiredService<IBundleSource>().Description} on http://{options.Listen}/");
            await app.RunAsync(cancellationToken);
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            await stderr.WriteLineAsync($"periscope-collector serve: {string.Join(" ", ex.Failures)}");
            return Unknown;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Isolation boundary of the command: whatever stopped the service from starting, exit code 3.
            await stderr.WriteLineAsync($"periscope-collector serve: {ex.Message}");
            return Unknown;
        }
    }

    /// <summary>What <c>report</c> renders, and where its expected nodes and options come from.</summary>
    private sealed record ReportArguments(
        string? RunId, string Format, string? Output, string ExpectedNodes, string? Kubeconfig, string? NodeSelector, IReadOnlyList<string> ConfigDirectories);

    /// <summary>How many bundles a command reads at once.</summary>
    internal static Option<int?> ParallelReadsOption()
    {
        var option = new Option<int?>("--parallel-reads")
        {
            Description = $"How many bundles are read at once (1 to {BlobBundleSource.MaxParallelReads}; default {BlobBundleSource.DefaultParallelReads} from Blob Storage, one per processor from a directory).",
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } value && value is < 1 or > BlobBundleSource.MaxParallelReads)
            {
                result.AddError($"--parallel-reads must be between 1 and {BlobBundleSource.MaxParallelReads} (found {value}).");
            }
        });
        return option;
    }

    /// <summary>The options that read a Blob store with an Azure identity, for one command.</summary>
    internal static (Option<string?> Auth, Option<string?> ClientId) IdentityOptions()
    {
        var auth = new Option<string?>("--blob-auth")
        {
            Description = "How the Blob store is read: sas, connection-string, workload-identity (the pod's federated token; AZURE_* variables from the AKS webhook), managed-identity, or azure-cli (your own `az login`, from your machine). Default: inferred from --blob-container-url or --blob-connection-string-file.",
        };
        auth.AcceptOnlyFromAmong(BlobStoreSettings.AuthModes);
        var clientId = new Option<string?>("--blob-client-id") { Description = "The user-assigned managed identity's client id (workload identity: instead of AZURE_CLIENT_ID)." };
        return (auth, clientId);
    }

    /// <summary>Where a command reads the store: a directory, or a Blob container (SAS URL, connection string or identity).</summary>
    internal sealed record SourceArguments(string? Store, string? BlobUrl, string? ConnectionStringFile, string? Container, string? Auth, string? ClientId, int? ParallelReads = null)
    {
        public IBundleSource Open()
        {
            var chosen = new[] { Store, BlobUrl, ConnectionStringFile }.Count(v => !string.IsNullOrWhiteSpace(v));
            if (chosen != 1)
            {
                throw new ArgumentException("Name the store once: --store DIR, --blob-container-url URL, or --blob-connection-string-file FILE with --blob-container NAME.");
            }

            if (Store is not null)
            {
                if (Auth is not null || ClientId is not null)
                {
                    throw new ArgumentException("--blob-auth and --blob-client-id read a Blob store: they do not go with --store.");
                }

                return new DirectoryBundleSource(Store, parallelReads: ParallelReads);
            }

            var settings = new BlobStoreSettings(BlobUrl, ConnectionStringFile, Container ?? "periscope", Auth, ClientId);
            var failures = settings.Validate(BlobStoreSettings.SettingNames.Flags);
            if (failures.Count > 0)
            {
                throw new ArgumentException(string.Join(" ", failures));
            }

            return BlobBundleSource.Open(settings, TimeSpan.FromSeconds(20), ParallelReads ?? BlobBundleSource.DefaultParallelReads);
        }
    }
}
