using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Periscope.Bundle;
using Periscope.Collector.Correlation;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Incident;

/// <summary>What <c>periscope-collector incident</c> was asked to do.</summary>
internal sealed record IncidentOptions
{
    public string? Kubeconfig { get; init; }

    /// <summary>The namespace Periscope lives in (the shipped manifests' <c>periscope</c>).</summary>
    public string Namespace { get; init; } = "periscope";

    /// <summary>The overlay of deploy/ installed when Periscope is not.</summary>
    public string Overlay { get; init; } = "minimal";

    public string? ImageAgent { get; init; }

    public string? ImageCollector { get; init; }

    /// <summary>The overlay's settings (<c>--settings</c>, <see cref="OverlaySettings"/>), applied when it is installed.</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }

    public string? RunId { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Where the report (and, with <see cref="Bundles"/>, the bundles) are written.</summary>
    public required string OutputDirectory { get; init; }

    public bool Bundles { get; init; }

    public bool Cleanup { get; init; }

    /// <summary>Opens the store the agents write to; null: the in-cluster collector, through the API server's service proxy.</summary>
    public Func<IBundleSource>? Store { get; init; }

    /// <summary>The in-cluster collector's Service and port name (with <see cref="Store"/> null).</summary>
    public string CollectorService { get; init; } = "periscope-collector:http";

    public CorrelationOptions Correlation { get; init; } = new();
}

/// <summary>
/// One command during an incident: check access, install Periscope if it is not, start a run, watch every node until
/// each reported or the timeout, say why each missing node is missing, fetch the report (and bundles), and clean up
/// what it installed. Each step is printed as it happens; exit code the report's (0/1/2), 3 when it could not run.
/// </summary>
internal sealed class IncidentCommand(IncidentOptions options, IIncidentConsole console, TimeProvider time)
{
    public const string FieldManager = "periscope-incident";
    public const string InstalledByLabel = "periscope.io/installed-by";
    public const string RunAnnotation = "periscope.io/incident-run";
    public const string AgentDaemonSet = "periscope-agent";
    public const string RunConfigMap = "periscope-run";
    private const int CouldNotRun = 3;

    public Task<int> RunAsync(CancellationToken cancellationToken)
        => WithClientAsync(options.Kubeconfig, console, client =>
        {
            console.Step($"namespace {options.Namespace}");
            return RunAsync(client, cancellationToken);
        });

    /// <summary>
    /// Removes what this command installed — in every run, or with <paramref name="runId"/> in that one — and every
    /// Periscope node condition, and says what it removed.
    /// </summary>
    public static Task<int> CleanupOnlyAsync(string? kubeconfig, string? runId, IIncidentConsole console, CancellationToken cancellationToken)
        => WithClientAsync(kubeconfig, console, async client =>
        {
            console.Step($"cleaning up (objects labelled {InstalledByLabel}={FieldManager}{(runId is null ? string.Empty : $" of run {runId}")}, Periscope node conditions)");
            var removed = await IncidentCleanup.RunAsync(client, runId, cancellationToken);
            foreach (var item in removed)
            {
                console.Line($"  removed {item}");
            }

            console.Step(removed.Count == 0 ? "nothing to remove: nothing this command installed is left" : $"removed {removed.Count} item(s)");
            return 0;
        });

    private static async Task<int> WithClientAsync(string? kubeconfig, IIncidentConsole console, Func<Kubernetes, Task<int>> work)
    {
        Kubernetes client;
        try
        {
            var config = string.IsNullOrEmpty(kubeconfig)
                ? KubernetesClientConfiguration.BuildDefaultConfig()
                : await KubernetesClientConfiguration.BuildConfigFromConfigFileAsync(new FileInfo(kubeconfig));
            client = new Kubernetes(config);
            console.Step($"cluster {config.Host}");
        }
        catch (Exception ex) when (ex is k8s.Exceptions.KubeConfigException or IOException)
        {
            console.Error($"no usable kubeconfig: {ex.Message}");
            return CouldNotRun;
        }

        using (client)
        {
            try
            {
                return await work(client);
            }
            catch (HttpOperationException ex)
            {
                console.Error($"the Kubernetes API answered {(int)ex.Response.StatusCode}: {FirstLine(ex.Response.Content)}");
                return CouldNotRun;
            }
            catch (HttpRequestException ex)
            {
                console.Error($"the Kubernetes API could not be reached: {ex.Message}");
                return CouldNotRun;
            }
            catch (OperationCanceledException)
            {
                console.Error("interrupted before the run was watched; nothing after the last step above was done");
                return CouldNotRun;
            }
        }
    }

    private async Task<int> RunAsync(Kubernetes client, CancellationToken cancellationToken)
    {
        var ns = options.Namespace;
        var runId = options.RunId is { } given ? RunId.Validate(given) : RunId.FromTime(time.GetUtcNow());
        // A store that cannot be named stops the command before anything changes.
        var direct = options.Store?.Invoke();
        if (direct is not null)
        {
            console.Step($"store {direct.Description}");
        }
        var installed = await ReadOrNullAsync(() => client.AppsV1.ReadNamespacedDaemonSetAsync(AgentDaemonSet, ns, cancellationToken: cancellationToken));
        var manifests = installed is null ? EmbeddedManifests.Load(options.Overlay, ns, options.ImageAgent, options.ImageCollector, runId, options.Settings) : null;

        // 1. Access, before anything changes.
        var needed = AccessPlan.ForRun(ns, options.Cleanup);
        if (direct is null)
        {
            var service = options.CollectorService.Split(':')[0];
            needed = [.. needed,
                new Permission("get", "", "services", ns, service, "proxy", "to follow the run and fetch its report through the in-cluster collector"),
                new Permission("get", "", "secrets", ns, ManifestInstaller.OperatorTokenSecret, Why: "to read the collector's operator token")];
        }

        if (manifests is not null)
        {
            needed = [.. needed, .. AccessPlan.ForInstall(manifests)];
        }

        console.Step($"checking {needed.Count} permission(s) with SelfSubjectAccessReview");
        var missing = await AccessPlan.MissingAsync(client, needed, manifests, cancellationToken);
        if (missing.Count > 0)
        {
            console.Error($"missing permissions (nothing was changed): {missing.Count}");
            foreach (var permission in missing)
            {
                console.Line($"  missing: {permission}");
            }

            return CouldNotRun;
        }

        // 2. Install, or say what is installed.
        if (manifests is not null)
        {
            if (manifests.Unconfigured.Count > 0)
            {
                console.Error($"Periscope is not installed and no image is configured for {string.Join(" and ", manifests.Unconfigured)}: "
                    + "give --image-agent and --image-collector (where you pushed the images; no public image exists). Nothing was changed.");
                return CouldNotRun;
            }

            if (manifests.UnsetSettings.Count > 0)
            {
                console.Error($"Periscope is not installed and the {options.Overlay} overlay needs {string.Join(", ", manifests.UnsetSettings)}: "
                    + $"give --settings FILE, a filled-in copy of {manifests.SettingsFile ?? "the overlay's settings file"}. Nothing was changed.");
                return CouldNotRun;
            }

            console.Step($"Periscope is not installed: applying the {options.Overlay} overlay ({manifests.Objects.Count} objects, server-side apply as {FieldManager})");
            foreach (var applied in await ManifestInstaller.ApplyAsync(client, manifests, cancellationToken))
            {
                console.Line($"  applied {applied}");
            }

            if (await ManifestInstaller.CreateOperatorTokenAsync(client, ns, runId, cancellationToken) is { } secret)
            {
                console.Line($"  created {secret} (the collector's operator token; read it with kubectl -n {ns} get secret {ManifestInstaller.OperatorTokenSecret} -o jsonpath='{{.data.token}}' | base64 -d)");
            }
        }
        else
        {
            var image = installed!.Spec?.Template?.Spec?.Containers?.FirstOrDefault()?.Image;
            console.Step($"Periscope is installed (DaemonSet {ns}/{AgentDaemonSet}, image {image ?? "unknown"})");
            if (options.ImageAgent is { } wanted && image is not null && wanted != image)
            {
                console.Line($"  the installed agent image {image} differs from --image-agent {wanted}: left as it is (this command never upgrades an installation)");
            }

            if (options.Settings is { Count: > 0 })
            {
                console.Line("  --settings not applied: they are for an installation, and this command never changes one");
            }
        }

        // 3. Start the run, then watch.
        try
        {
            await RunTrigger.StartAsync(client, ns, RunConfigMap, runId, cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            console.Error($"the run could not be started: {ex.Message}");
            await CleanUpOrSayWhatIsLeftAsync(client, installed, manifests is not null, runId);
            return CouldNotRun;
        }

        console.Step($"run {runId} started (ConfigMap {ns}/{RunConfigMap})");
        IIncidentStore source = direct is not null
            ? new DirectIncidentStore(direct, time, options.Correlation, options.Kubeconfig is null ? null : new KubernetesNodeList(options.Kubeconfig, KubernetesNodeList.DefaultLabelSelector))
            : new CollectorProxyStore(client, ns, options.CollectorService, await OperatorTokenAsync(client, ns, cancellationToken));
        if (direct is null)
        {
            console.Step($"following the run through {source.Description}");
        }

        var views = await WatchAsync(client, source, runId, cancellationToken);

        // 4. The nodes that did not report, one line each.
        var notReported = views.Where(v => !v.Reported && v.State != NodeState.NotSelected).ToList();
        var notSelected = views.Where(v => v.State == NodeState.NotSelected).ToList();
        console.Step($"{views.Count(v => v.Reported)} of {views.Count - notSelected.Count} node(s) reported; {notReported.Count} did not; {notSelected.Count} not selected by the DaemonSet");
        foreach (var view in notReported.Concat(notSelected))
        {
            console.Line($"  {view.Node}: {view.Why}");
        }

        // 5. Report and bundles.
        var exit = await ReportAsync(source, runId, cancellationToken);

        // 6. Clean up, or say what is left (after Ctrl-C too: the cleanup asked for still runs).
        await CleanUpOrSayWhatIsLeftAsync(client, installed, manifests is not null, runId);
        return exit;
    }

    /// <summary>
    /// With <c>--cleanup</c>, removes what this run installed and Periscope's node conditions; else says what is left
    /// running and how to remove it. An installation an earlier incident run made is that run's to remove: it is named
    /// and left running.
    /// </summary>
    private async Task CleanUpOrSayWhatIsLeftAsync(Kubernetes client, V1DaemonSet? installed, bool installedNow, string runId)
    {
        var ns = options.Namespace;
        string? earlier = null;
        if (installed?.Metadata?.Labels?.TryGetValue(InstalledByLabel, out var by) == true && by == FieldManager)
        {
            earlier = installed.Metadata.Annotations?.TryGetValue(RunAnnotation, out var run) == true
                ? $"the installation incident run {run} made in {ns}; remove it with: periscope-collector incident --cleanup-only --run-id {run}"
                : $"the installation an incident run made in {ns}; remove it with: periscope-collector incident --cleanup-only";
        }

        if (options.Cleanup)
        {
            console.Step($"cleaning up what run {runId} installed, and Periscope's node conditions");
            foreach (var removed in await IncidentCleanup.RunAsync(client, runId, CancellationToken.None))
            {
                console.Line($"  removed {removed}");
            }

            if (earlier is not null)
            {
                console.Step($"left running: {earlier}");
            }

            return;
        }

        console.Step(installedNow
            ? $"left running: what this command installed (label {InstalledByLabel}={FieldManager}, annotation {RunAnnotation}={runId}); remove it (and Periscope's node conditions) with: periscope-collector incident --cleanup-only --run-id {runId}"
            : earlier is not null ? $"left running: {earlier}" : $"left running: the installation found in {ns}, as it was");
    }

    /// <summary>The collector's operator token, from its Secret.</summary>
    private static async Task<string> OperatorTokenAsync(Kubernetes client, string ns, CancellationToken cancellationToken)
    {
        var secret = await client.CoreV1.ReadNamespacedSecretAsync(ManifestInstaller.OperatorTokenSecret, ns, cancellationToken: cancellationToken);
        return secret.Data?.TryGetValue("token", out var bytes) == true
            ? global::System.Text.Encoding.UTF8.GetString(bytes).Trim()
            : throw new InvalidOperationException($"Secret {ns}/{ManifestInstaller.OperatorTokenSecret} has no 'token'");
    }

    private async Task<IReadOnlyList<NodeView>> WatchAsync(Kubernetes client, IIncidentStore source, string runId, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        IReadOnlyList<NodeView> views = [];
        string? storeError = null;
        var last = new Dictionary<string, NodeState>(StringComparer.Ordinal);
        while (true)
        {
            try
            {
                var nodes = (await client.CoreV1.ListNodeAsync(labelSelector: "kubernetes.io/os=linux", cancellationToken: cancellationToken)).Items;
                var ds = await ReadOrNullAsync(() => client.AppsV1.ReadNamespacedDaemonSetAsync(AgentDaemonSet, options.Namespace, cancellationToken: cancellationToken));
                var selector = ds?.Spec?.Selector?.MatchLabels is { Count: > 0 } labels ? string.Join(",", labels.Select(l => $"{l.Key}={l.Value}")) : "app.kubernetes.io/name=periscope-agent";
                var pods = (await client.CoreV1.ListNamespacedPodAsync(options.Namespace, labelSelector: selector, cancellationToken: cancellationToken)).Items;
                var progress = await source.ProgressAsync(runId, cancellationToken);
                views = NodeWatch.Fold([.. nodes], ds?.Spec?.Template?.Spec, [.. pods], progress);
                storeError = null;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                console.Step($"stopped waiting (interrupted): {views.Count(v => v.Reported)} node(s) had reported");
                return views;
            }
            catch (IOException ex) when (ex.Message != storeError)
            {
                // The store did not answer this time (a network blip, a collector still starting): said once, asked again.
                storeError = ex.Message;
                console.Line($"  the store could not be read: {ex.Message}");
            }
            catch (IOException)
            {
                // The same as last time: already said.
            }

            foreach (var view in views.Where(v => !last.TryGetValue(v.Node, out var was) || was != v.State))
            {
                console.NodeChanged(view, time.GetElapsedTime(started));
                last[view.Node] = view.State;
            }

            console.Progress(views, time.GetElapsedTime(started));
            var expected = views.Where(v => v.State != NodeState.NotSelected).ToList();
            if (expected.Count > 0 && expected.All(v => v.Reported))
            {
                console.Step($"every expected node reported ({expected.Count}) after {time.GetElapsedTime(started).TotalSeconds:0} s");
                return views;
            }

            if (time.GetElapsedTime(started) >= options.Timeout)
            {
                console.Step($"timed out after {options.Timeout.TotalSeconds:0} s: {expected.Count(v => v.Reported)} of {expected.Count} node(s) reported");
                return views;
            }

            try
            {
                await Task.Delay(options.PollInterval, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                console.Step($"stopped waiting (interrupted): {expected.Count(v => v.Reported)} of {expected.Count} node(s) reported so far");
                return views;
            }
        }
    }

    private async Task<int> ReportAsync(IIncidentStore source, string runId, CancellationToken cancellationToken)
    {
        HealthReport report;
        try
        {
            report = await source.ReportAsync(runId, CancellationToken.None);
        }
        catch (IOException ex)
        {
            console.Error($"no report: {ex.Message}");
            return CouldNotRun;
        }

        Directory.CreateDirectory(options.OutputDirectory);
        var stem = Path.Combine(options.OutputDirectory, $"report-{runId}");
        await File.WriteAllTextAsync(stem + ".json", JsonSerializer.Serialize(report, ReportJsonContext.Default.HealthReport), CancellationToken.None);
        await File.WriteAllTextAsync(stem + ".md", MarkdownReportRenderer.Render(report), CancellationToken.None);
        await File.WriteAllTextAsync(stem + ".html", HtmlReportRenderer.Render(report), CancellationToken.None);
        console.Step($"report: {stem}.html (also .md, .json): {report.Status.ToString().ToLowerInvariant()}");
        console.Line($"  {Headline.Of(report)}");
        foreach (var finding in report.Correlations.OrderByDescending(c => c.Severity).Take(5))
        {
            console.Line($"  [{finding.Severity.ToString().ToLowerInvariant()}] {finding.Code}: {finding.Title}");
        }

        if (options.Bundles)
        {
            var folder = Path.Combine(options.OutputDirectory, "bundles", runId);
            Directory.CreateDirectory(folder);
            try
            {
                console.Step($"bundles: {await source.DownloadBundlesAsync(runId, folder, CancellationToken.None)} written to {folder}");
            }
            catch (IOException ex)
            {
                console.Error($"bundles: {ex.Message}");
            }
        }

        return report.Status switch
        {
            HealthStatus.Healthy => 0,
            HealthStatus.Warning => 1,
            HealthStatus.Critical => 2,
            _ => CouldNotRun,
        };
    }

    private static async Task<T?> ReadOrNullAsync<T>(Func<Task<T>> read)
        where T : class
    {
        try
        {
            return await read();
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static string FirstLine(string? text) => (text ?? string.Empty).Split('\n')[0].Trim();
}
