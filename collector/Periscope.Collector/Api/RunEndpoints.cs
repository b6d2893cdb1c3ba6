using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Periscope.Bundle;
using Periscope.Collector.Reports;
using Periscope.Collector.Sources;

namespace Periscope.Collector.Api;

/// <summary>
/// The API under <c>/api</c> (authorised as a group): the runs, starting one, a run's report and nodes, a node's bundle.
/// A bundle is served only by run id and node name, both validated, from inside the store.
/// </summary>
internal static partial class RunEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/runs", ListRunsAsync);
        api.MapPost("/runs", StartRunAsync);
        api.MapGet("/runs/{runId}/report", ReportAsync);
        api.MapGet("/runs/{runId}/nodes", ListNodesAsync);
        api.MapGet("/runs/{runId}/progress", ProgressAsync);
        api.MapGet("/runs/{runId}/nodes/{node}/bundle", DownloadAsync);
        api.MapGet("/runs/{runId}/nodes/{node}/entries/{**entry}", EntryAsync);
    }

    /// <summary>Most bytes of one entry served (an evidence file is at most 16 MiB by default); a larger one is downloaded with its bundle.</summary>
    public const int MaxEntryBytes = 16 * 1024 * 1024;

    /// <summary>Lines served around <c>?line=</c> when no <c>context</c> is given, and the most that may be asked.</summary>
    public const int DefaultContext = 20;
    public const int MaxContext = 500;

    /// <summary>The served report links each evidence line to its bundle's entry, a window of lines around it.</summary>
    public static string EntryLink(string bundleStorePath, string entry, long? line)
    {
        var bundle = BundleLink(bundleStorePath);
        var path = string.Join('/', entry.Split('/').Select(Uri.EscapeDataString));
        return $"{bundle[..^"/bundle".Length]}/entries/{path}{(line is { } n ? $"?line={n}" : string.Empty)}";
    }

    /// <summary>
    /// <c>GET /api/runs/{runId}/nodes/{node}/entries/{entry}[?line=N[&amp;context=M]]</c>: one entry of a bundle, as
    /// text — whole, or the lines N−M to N+M, each prefixed with its number. Only an entry the bundle's manifest records
    /// is served, after its SHA-256 is checked against the manifest; a rejected bundle is 422 with the reason.
    /// </summary>
    private static async Task<IResult> EntryAsync(HttpContext context, string runId, string node, string entry, long? line, IBundleSource source, CancellationToken cancellationToken)
    {
        if (!RunId.IsValid(runId) || !NodeName.IsValid(node) || BundleEntryName.Problem(entry) is not null)
        {
            return Results.NotFound();
        }

        var around = context.Request.Query["context"] is { Count: 1 } given && int.TryParse(given[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var asked)
            ? Math.Min(asked, MaxContext) : DefaultContext;
        if (line is < 1)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "line must be 1 or more.");
        }

        await using var opened = await source.OpenBundleAsync(runId, node, cancellationToken);
        if (opened is null)
        {
            return Results.NotFound();
        }

        await using var stream = opened.CanSeek ? null : await SeekableAsync(opened, cancellationToken);
        byte[] content;
        try
        {
            using var reader = BundleReader.Open(stream ?? opened, node);
            var record = reader.Entries.FirstOrDefault(e => e.Path == entry);
            if (record is null)
            {
                return Results.NotFound();
            }

            if (record.Size > MaxEntryBytes)
            {
                return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, detail: $"{entry} is {record.Size} bytes, more than the {MaxEntryBytes} served one by one: download the bundle.");
            }

            await using var open = reader.OpenEntry(entry);
            using var buffer = new MemoryStream((int)record.Size);
            await open.CopyToAsync(buffer, cancellationToken);
            content = buffer.ToArray();
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content));
            if (content.LongLength != record.Size || !string.Equals(hash, record.Sha256, StringComparison.Ordinal))
            {
                return Results.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, detail: $"{entry} does not match the size and SHA-256 its manifest records: the bundle is corrupt.");
            }
        }
        catch (Exception ex) when (ex is BundleRejectedException or InvalidDataException)
        {
            return Results.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, detail: $"The bundle is rejected: {ex.Message}");
        }

        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        if (line is not { } target)
        {
            return Results.Bytes(content, "text/plain; charset=utf-8");
        }

        // The window of lines, numbered as the report's evidence numbers them (from 1).
        var text = new System.Text.StringBuilder();
        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"# {runId}/{node} {entry}, lines {Math.Max(1, target - around)}–{target + around} around {target}\n");
        using var lineReader = new StreamReader(new MemoryStream(content), System.Text.Encoding.UTF8);
        long number = 0;
        while (await lineReader.ReadLineAsync(cancellationToken) is { } current)
        {
            number++;
            if (number > target + around)
            {
                break;
            }

            if (number >= target - around)
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{(number == target ? '>' : ' ')}{number,7}  {current}\n");
            }
        }

        if (number < target)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"{entry} has {number} lines; line {target} is not there.");
        }

        return Results.Text(text.ToString(), "text/plain; charset=utf-8");
    }

    /// <summary>A bundle stream that cannot seek, copied to a temporary file that can (deleted on close).</summary>
    private static async Task<Stream> SeekableAsync(Stream stream, CancellationToken cancellationToken)
    {
        var copy = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose);
        await stream.CopyToAsync(copy, cancellationToken);
        copy.Position = 0;
        return copy;
    }

    /// <summary>The served report links each bundle to its download.</summary>
    public static string BundleLink(string storePath)
    {
        var slash = storePath.IndexOf('/', StringComparison.Ordinal);
        var run = storePath[..slash];
        var node = storePath[(slash + 1)..^StoreLayout.BundleSuffix.Length];
        return $"/api/runs/{Uri.EscapeDataString(run)}/nodes/{Uri.EscapeDataString(node)}/bundle";
    }

    /// <summary>
    /// <c>POST /api/runs</c> ({runId?, collectors?, since?}): writes the run-id ConfigMap. A browser session must send
    /// the anti-forgery token (<c>X-CSRF-Token</c>); a bearer-token client need not (no ambient credential to forge).
    /// </summary>
    private static async Task<IResult> StartRunAsync(HttpContext context, RunStarter starter, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (!await ServerAuthentication.AntiforgeryHoldsAsync(context, antiforgery))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "Missing or wrong anti-forgery token (X-CSRF-Token).");
        }

        StartRunRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(context.Request.Body, ApiJsonContext.Default.StartRunRequest, cancellationToken);
        }
        catch (JsonException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: $"The body is not a JSON object of runId, collectors and since: {ex.Message}");
        }

        return await StartAsync(starter, body?.RunId, body?.Collectors, body?.Since, started => Results.Json(started, ApiJsonContext.Default.StartedRun, statusCode: StatusCodes.Status202Accepted), cancellationToken);
    }

    /// <summary>Starts a run (the API and the page's form), answering with <paramref name="done"/> or a problem.</summary>
    public static async Task<IResult> StartAsync(RunStarter starter, string? runId, string? collectors, string? since, Func<StartedRun, IResult> done, CancellationToken cancellationToken)
    {
        if (!starter.Enabled)
        {
            return Results.Problem(statusCode: StatusCodes.Status501NotImplemented, detail: "Starting runs needs Kubernetes access (run in the cluster, or set Periscope:Server:Kubeconfig).");
        }

        try
        {
            return done(await starter.StartAsync(runId, collectors, since, cancellationToken));
        }
        catch (ArgumentException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: ex.Message);
        }
        catch (Exception ex) when (ex is InvalidOperationException or k8s.Exceptions.KubeConfigException or IOException)
        {
            return Results.Problem(statusCode: StatusCodes.Status502BadGateway, detail: ex.Message);
        }
    }

    /// <summary>
    /// The runs as last polled, newest first. <c>Periscope-Listed-At</c> says when; a failed listing answers the runs
    /// of the one before with <c>Periscope-Listing-Error</c>, or 503 when the store was never listed.
    /// </summary>
    private static async Task<IResult> ListRunsAsync(HttpContext context, RunCatalog catalog, CancellationToken cancellationToken)
    {
        var listing = await catalog.RunsAsync(cancellationToken);
        if (listing.ListedAt is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, detail: $"The store could not be listed: {listing.Error}");
        }

        context.Response.Headers["Periscope-Listed-At"] = UtcTimestampConverter.Format(listing.ListedAt.Value);
        if (listing.Error is not null)
        {
            context.Response.Headers["Periscope-Listing-Error"] = listing.Error.ReplaceLineEndings(" ");
        }

        return Results.Json(listing.Runs, ApiJsonContext.Default.IReadOnlyListRunSummary);
    }

    private static async Task<IResult> ReportAsync(string runId, string? format, IBundleSource source, RunCatalog catalog, CancellationToken cancellationToken)
    {
        if (await FindReportAsync(source, catalog, runId, cancellationToken) is not { } report)
        {
            return Results.NotFound();
        }

        return format switch
        {
            null or "json" => Results.Json(report, ReportJsonContext.Default.HealthReport), // streamed, never one string
            "html" => Results.Stream(await catalog.RenderAsync(writer => HtmlReportRenderer.RenderServed(report, writer, BundleLink, EntryLink), cancellationToken), "text/html; charset=utf-8"),
            "markdown" => Results.Stream(await catalog.RenderAsync(writer => MarkdownReportRenderer.Render(report, writer), cancellationToken), "text/markdown; charset=utf-8"),
            _ => Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "format is json, html or markdown."),
        };
    }

    /// <summary>
    /// What the store holds of each node of a run in progress — the agent's started marker, its zip, its status record —
    /// as the incident command follows it (an empty object while the run has nothing yet; 400 for an invalid run id).
    /// </summary>
    private static async Task<IResult> ProgressAsync(string runId, IBundleSource source, CancellationToken cancellationToken)
    {
        if (!RunId.IsValid(runId))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: "not a run id.");
        }

        var progress = await source.ProgressAsync(runId, cancellationToken);
        return Results.Json(new Dictionary<string, Sources.RunProgress>(progress, StringComparer.Ordinal), ApiJsonContext.Default.DictionaryStringRunProgress);
    }

    private static async Task<IResult> ListNodesAsync(string runId, IBundleSource source, RunCatalog catalog, CancellationToken cancellationToken)
    {
        if (await FindReportAsync(source, catalog, runId, cancellationToken) is not { } report)
        {
            return Results.NotFound();
        }

        var nodes = report.Nodes.Select(n => new NodeSummary(n.Node, n.Pool, n.Status, n.Rejected, n.Incomplete, BundleLink(n.Bundle))).ToList();
        return Results.Json(nodes, ApiJsonContext.Default.ListNodeSummary);
    }

    /// <summary>
    /// One node's bundle: streamed, or with <see cref="ServerOptions.Downloads"/> <c>sas</c> a 302 to a short-lived
    /// read-only SAS URL of that blob. The run id and node name must be valid names (no separators, no leading dot),
    /// the bundle must be sealed (its status record exists), and a directory store checks the path lies inside it.
    /// When a SAS cannot be signed (an identity refused a user delegation key) the bundle is streamed instead and the
    /// reason logged: the operator gets the bundle either way.
    /// </summary>
    private static async Task<IResult> DownloadAsync(
        HttpContext context, string runId, string node, IBundleSource source, ServerOptions options, TimeProvider time, ILoggerFactory logging, CancellationToken cancellationToken)
    {
        if (!RunId.IsValid(runId) || !NodeName.IsValid(node))
        {
            return Results.NotFound();
        }

        if (options.Downloads == "sas" && source is BlobBundleSource blob)
        {
            try
            {
                var signed = await blob.ReadOnlyUriAsync(runId, node, options.SasLifetime, time.GetUtcNow(), cancellationToken);
                context.Response.Headers.CacheControl = "no-store";
                return signed is null ? Results.NotFound() : Results.Redirect(signed.AbsoluteUri);
            }
            catch (InvalidOperationException ex)
            {
                LogSasRefused(logging.CreateLogger("Periscope.Collector.Downloads"), runId, node, ex.Message);
            }
        }

        var stream = await source.OpenBundleAsync(runId, node, cancellationToken);
        return stream is null
            ? Results.NotFound()
            : Results.Stream(stream, "application/zip", $"{runId}-{node}.zip", enableRangeProcessing: stream.CanSeek);
    }

    /// <summary>
    /// The report of a run that exists, or null. A run of the last listing that has gone from the store since (its
    /// report cannot be read and its folder or prefix is empty) is not found either; any other failure is thrown.
    /// </summary>
    public static async Task<HealthReport?> FindReportAsync(IBundleSource source, RunCatalog catalog, string runId, CancellationToken cancellationToken)
    {
        if (!await RunExistsAsync(source, catalog, runId, cancellationToken))
        {
            return null;
        }

        try
        {
            return await catalog.ReportAsync(runId, cancellationToken);
        }
        catch (IOException)
        {
            if (await ListedAsync(source, runId, cancellationToken))
            {
                throw;
            }

            return null;
        }
    }

    /// <summary>
    /// A run of the catalog's last listing exists; one newer than it is looked for by one listing of its own folder or
    /// prefix (not of every run).
    /// </summary>
    private static async Task<bool> RunExistsAsync(IBundleSource source, RunCatalog catalog, string runId, CancellationToken cancellationToken)
    {
        if (!RunId.IsValid(runId))
        {
            return false;
        }

        return catalog.Knows(runId) || await ListedAsync(source, runId, cancellationToken);
    }

    /// <summary>One listing of the run's own folder or prefix.</summary>
    private static async Task<bool> ListedAsync(IBundleSource source, string runId, CancellationToken cancellationToken)
    {
        try
        {
            return (await source.ListNodesAsync(runId, cancellationToken)).Count > 0;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "Streaming {RunId}/{Node} instead of redirecting to a SAS: {Reason}")]
    private static partial void LogSasRefused(ILogger logger, string runId, string node, string reason);
}

/// <summary>The body of <c>POST /api/runs</c>: the run-id ConfigMap's fields.</summary>
internal sealed record StartRunRequest(string? RunId, string? Collectors, string? Since);

/// <summary>A node of a run, for <c>GET /api/runs/{runId}/nodes</c>.</summary>
internal sealed record NodeSummary(string Node, string? Pool, HealthStatus Status, string? Rejected, bool Incomplete, string Bundle);
