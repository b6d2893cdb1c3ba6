using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Runs;
using Periscope.Agent.Signals;
using Periscope.Bundle;

namespace Periscope.Agent.Triggers;

/// <summary>
/// The agent's local HTTP endpoint: <c>GET /healthz</c> (anonymous, for the kubelet's probes),
/// <c>GET /v1/signals</c> (anonymous: the node's verdict and signals for automation),
/// <c>POST /v1/runs</c> (start a run: the run-id ConfigMap's fields as JSON) and <c>GET /v1/runs</c> (recent runs and
/// the spool), both with <c>Authorization: Bearer &lt;token&gt;</c> read from <see cref="HttpEndpointOptions.TokenFile"/>.
/// </summary>
internal static class AgentEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", (HttpContext context) => HealthAsync(context));
        app.MapPost("/v1/runs", (HttpContext context) => StartRunAsync(context));
        app.MapGet("/v1/runs", (HttpContext context) => ListRunsAsync(context));
        app.MapGet("/v1/runs/{runId}", (HttpContext context, string runId) => GetRunAsync(context, runId));
        app.MapGet("/v1/signals", (HttpContext context) => SignalsAsync(context));
    }

    /// <summary>
    /// The node's verdict and signals. Anonymous, like <c>/healthz</c>: it holds nothing the Node object's conditions
    /// and events do not show, the endpoint listens on the node's loopback (the pod runs with hostNetwork), and a
    /// node-local health checker has no token to present (docs/signals.md).
    /// </summary>
    private static async Task SignalsAsync(HttpContext context)
    {
        var tracker = context.RequestServices.GetRequiredService<SignalTracker>();
        var options = context.RequestServices.GetRequiredService<IOptions<SignalOptions>>().Value;
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        var node = await context.RequestServices.GetRequiredService<LocalNode>().NameAsync(context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        await WriteAsync(context, StatusCodes.Status200OK, SignalsDocument.Build(node, tracker, options, time.GetUtcNow()));
    }

    private static Task HealthAsync(HttpContext context)
    {
        var queue = context.RequestServices.GetRequiredService<RunQueue>();
        return WriteAsync(context, StatusCodes.Status200OK, new HealthDocument("ok", queue.Current?.Value));
    }

    private static async Task StartRunAsync(HttpContext context)
    {
        if (await RefuseAsync(context))
        {
            return;
        }

        RunRequestBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(context.Request.Body, TriggersJsonContext.Default.RunRequestBody, context.RequestAborted);
        }
        catch (JsonException ex)
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, $"The body is not a JSON object of runId, collectors and since: {ex.Message}");
            return;
        }
        catch (BadHttpRequestException ex)
        {
            await ProblemAsync(context, ex.StatusCode, $"The request body was refused: {ex.Message}");
            return;
        }

        var intake = context.RequestServices.GetRequiredService<TriggerIntake>();
        var result = intake.Submit(body?.RunId, body?.Collectors, body?.Since, "http");
        if (!result.Valid)
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, string.Join(" ", result.Errors));
            return;
        }

        var runId = result.Trigger.RunId.Value;
        switch (result.Offer)
        {
            case OfferResult.Accepted:
                context.Response.Headers.Location = $"/v1/runs/{runId}";
                await WriteAsync(context, StatusCodes.Status202Accepted, new RunAccepted(runId, "queued"));
                break;
            case OfferResult.AlreadyQueued:
                await WriteAsync(context, StatusCodes.Status202Accepted, new RunAccepted(runId, "already queued or running"));
                break;
            case OfferResult.Full:
                context.Response.Headers.RetryAfter = "60";
                await ProblemAsync(context, StatusCodes.Status429TooManyRequests,
                    $"{RunQueue.Capacity} runs are queued on this node already; offer run '{runId}' again once they have run.");
                break;
            default:
                var record = context.RequestServices.GetRequiredService<RunQueue>().History.Get(result.Trigger.RunId);
                await ProblemAsync(context, StatusCodes.Status409Conflict,
                    $"Run '{runId}' was collected on this node before ({record?.State.ToString().ToLowerInvariant()}); a run id is collected once. Choose a new runId.");
                break;
        }
    }

    private static async Task ListRunsAsync(HttpContext context)
    {
        if (await RefuseAsync(context))
        {
            return;
        }

        var queue = context.RequestServices.GetRequiredService<RunQueue>();
        var metrics = context.RequestServices.GetRequiredService<AgentMetrics>();
        await WriteAsync(context, StatusCodes.Status200OK, new RunsDocument(
            queue.Current?.Value, queue.History.Recent(50), new SpoolCounters(metrics.Pending, metrics.Uploaded, metrics.Evicted)));
    }

    private static async Task GetRunAsync(HttpContext context, string runId)
    {
        if (await RefuseAsync(context))
        {
            return;
        }

        var queue = context.RequestServices.GetRequiredService<RunQueue>();
        var known = RunId.TryParse(runId, out var id);
        if (known && queue.History.Get(id) is { } record)
        {
            await WriteAsync(context, StatusCodes.Status200OK, record);
        }
        else if (known && queue.IsPending(id))
        {
            await WriteAsync(context, StatusCodes.Status200OK, new RunAccepted(runId, "queued"));
        }
        else
        {
            await ProblemAsync(context, StatusCodes.Status404NotFound, $"This node has no run '{runId}'.");
        }
    }

    /// <summary>Answers 401 or 403 and returns true unless the request carries the configured bearer token.</summary>
    private static async Task<bool> RefuseAsync(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<HttpEndpointOptions>>().Value;
        if (string.IsNullOrEmpty(options.TokenFile))
        {
            await ProblemAsync(context, StatusCodes.Status403Forbidden, $"This endpoint is off: {HttpEndpointOptions.SectionName}:TokenFile is not set.");
            return true;
        }

        string expected;
        try
        {
            // Re-read on every request: a rotated Secret takes effect without a restart.
            expected = (await File.ReadAllTextAsync(options.TokenFile, context.RequestAborted)).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "The agent cannot read its token file.");
            return true;
        }

        var header = context.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : string.Empty;
        if (expected.Length == 0 || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected)))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await ProblemAsync(context, StatusCodes.Status401Unauthorized, "A valid bearer token is required.");
            return true;
        }

        return false;
    }

    private static Task ProblemAsync(HttpContext context, int status, string detail)
        => WriteAsync(context, status, new ProblemDocument(status, detail));

    private static async Task WriteAsync<T>(HttpContext context, int status, T value)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)TriggersJsonContext.Default.GetTypeInfo(typeof(T))!, context.RequestAborted);
    }
}

/// <summary>The body of <c>POST /v1/runs</c>: the run-id ConfigMap's fields.</summary>
internal sealed record RunRequestBody(string? RunId, string? Collectors, string? Since);

internal sealed record RunAccepted(string RunId, string Status);

internal sealed record HealthDocument(string Status, string? CurrentRun);

internal sealed record RunsDocument(string? CurrentRun, IReadOnlyList<RunRecord> Runs, SpoolCounters Spool);

internal sealed record SpoolCounters(int Pending, long Uploaded, long Evicted);

/// <summary>An error answer (the fields of RFC 9457 problem details that apply).</summary>
internal sealed record ProblemDocument(int Status, string Detail);
