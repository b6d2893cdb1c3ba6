using System.CommandLine;
using Periscope.Collector.Incident;

namespace Periscope.Collector.Cli;

/// <summary><c>periscope-collector incident</c> (also <c>kubectl periscope incident</c>, the same program as <c>kubectl-periscope</c>).</summary>
internal static class IncidentCli
{
    private const int Unknown = 3;

    public static Command Command(TextWriter stdout, TextWriter stderr, TimeProvider time)
    {
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "The kubeconfig (default: KUBECONFIG, else ~/.kube/config)." };
        var ns = new Option<string>("--namespace", "-n") { Description = "Where Periscope runs.", DefaultValueFactory = _ => EmbeddedManifests.ShippedNamespace };
        var overlay = new Option<string>("--overlay") { Description = $"The overlay of deploy/ installed when Periscope is not ({string.Join(", ", EmbeddedManifests.Overlays)}).", DefaultValueFactory = _ => "dev" };
        overlay.AcceptOnlyFromAmong([.. EmbeddedManifests.Overlays]);
        var imageAgent = new Option<string?>("--image-agent") { Description = "The agent's image (required to install: no public image exists)." };
        var imageCollector = new Option<string?>("--image-collector") { Description = "The collector's image (required to install)." };
        var settings = new Option<string?>("--settings") { Description = "The overlay's settings to install with: a filled-in copy of its env file (deploy/overlays/aks/azure.env for aks)." };
        var runId = new Option<string?>("--run-id") { Description = "The run id (default: from the time)." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for every node to report.", DefaultValueFactory = _ => 600 };
        var output = new Option<string?>("--out") { Description = "Folder for the report and bundles (default ./periscope-incident-<run id>)." };
        var bundles = new Option<bool>("--bundles") { Description = "Also download the run's bundles into the folder." };
        var cleanup = new Option<bool>("--cleanup") { Description = "After the run, remove what this run installed and every Periscope node condition." };
        var cleanupOnly = new Option<bool>("--cleanup-only") { Description = "Only remove what this command installed (with --run-id: in that run) and every Periscope node condition (idempotent); no run." };
        var store = new Option<string?>("--store") { Description = "The store the agents write to, as a directory." };
        var blobUrl = new Option<string?>("--blob-container-url") { Description = "The store as a Blob container URL (a SAS URL, or with --blob-auth)." };
        var blobConnection = new Option<string?>("--blob-connection-string-file") { Description = "The store as a Blob container, with the connection string in this file (with --blob-container)." };
        var blobContainer = new Option<string?>("--blob-container") { Description = "The container (default periscope)." };
        var (blobAuth, blobClientId) = CollectorCli.IdentityOptions();
        var configDir = new Option<string[]>("--config-dir") { Description = "A directory of option files, one per key (Periscope__Correlation__ClusterShare)." };
        var plain = new Option<bool>("--plain") { Description = "Plain line-by-line progress even on a terminal (it is the default when the output is not one)." };
        var command = new Command("incident", "During an incident: check access, install Periscope if it is not (server-side apply), start a run, watch every node until each reported or --timeout, say why each missing node is missing, write the report (and with --bundles the bundles), clean up with --cleanup. Exit code: 0 healthy, 1 warning, 2 critical, 3 could not run.")
        {
            kubeconfig, ns, overlay, imageAgent, imageCollector, settings, runId, timeout, output, bundles, cleanup, cleanupOnly, store, blobUrl, blobConnection, blobContainer, blobAuth, blobClientId, configDir, plain,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            // The live table only on a terminal: CI, pipes and `az aks command invoke` get plain lines, no ANSI.
            IIncidentConsole console = !parse.GetValue(plain) && ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected
                && Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term && term != "dumb"
                ? new LiveIncidentConsole(stdout)
                : new PlainIncidentConsole(stdout);
            try
            {
                if (parse.GetValue(cleanupOnly))
                {
                    return await IncidentCommand.CleanupOnlyAsync(KubeconfigPath(parse.GetValue(kubeconfig)), parse.GetValue(runId), console, cancellationToken);
                }

                var sources = new CollectorCli.SourceArguments(parse.GetValue(store), parse.GetValue(blobUrl), parse.GetValue(blobConnection), parse.GetValue(blobContainer), parse.GetValue(blobAuth), parse.GetValue(blobClientId));
                var direct = !new[] { sources.Store, sources.BlobUrl, sources.ConnectionStringFile }.All(string.IsNullOrWhiteSpace);

                var configuration = CollectorConfiguration.Build(parse.GetValue(configDir) ?? []);
                var id = parse.GetValue(runId) ?? Bundle.RunId.FromTime(time.GetUtcNow()).ToString();
                var options = new IncidentOptions
                {
                    Kubeconfig = KubeconfigPath(parse.GetValue(kubeconfig)),
                    Namespace = parse.GetValue(ns)!,
                    Overlay = parse.GetValue(overlay)!,
                    ImageAgent = parse.GetValue(imageAgent),
                    ImageCollector = parse.GetValue(imageCollector),
                    Settings = parse.GetValue(settings) is { } settingsFile ? OverlaySettings.Read(settingsFile) : null,
                    RunId = id,
                    Timeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))),
                    OutputDirectory = parse.GetValue(output) ?? Path.Combine(Environment.CurrentDirectory, $"periscope-incident-{id}"),
                    Bundles = parse.GetValue(bundles),
                    Cleanup = parse.GetValue(cleanup),
                    Store = direct ? sources.Open : null, // none named: the in-cluster collector, through the API server
                    Correlation = CollectorConfiguration.Correlation(configuration),
                };
                return await new IncidentCommand(options, console, time).RunAsync(cancellationToken);
            }
            catch (ArgumentException ex)
            {
                await stderr.WriteLineAsync($"periscope-collector incident: {ex.Message}");
                return Unknown;
            }
        });
        return command;
    }

    /// <summary>The kubeconfig file kubectl would use: the flag, else the first of KUBECONFIG, else ~/.kube/config.</summary>
    private static string KubeconfigPath(string? flag)
        => flag
            ?? Environment.GetEnvironmentVariable("KUBECONFIG")?.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
}
