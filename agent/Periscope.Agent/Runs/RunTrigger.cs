using Periscope.Bundle;

namespace Periscope.Agent.Runs;

/// <summary>
/// A request to collect, from any trigger: the run-id ConfigMap (watched or mounted), the interval, or
/// <c>POST /v1/runs</c>. The fields are the contract of DESIGN.md: <c>runId</c> (required except for the interval,
/// whose runs are named by their start time), <c>collectors</c> and <c>since</c> (optional).
/// </summary>
/// <param name="RunId">The run id, checked where the request came in (an interval run's is its UTC start time).</param>
/// <param name="Collectors">Collectors to run; null for all.</param>
/// <param name="Since">Start of the log window as given (RFC 3339 or a duration before the run's start); null for the default.</param>
/// <param name="Source">Which trigger asked: <c>configmap</c>, <c>configmap-files</c>, <c>interval</c> or <c>http</c>.</param>
internal sealed record RunTrigger(RunId RunId, IReadOnlyList<string>? Collectors, string? Since, string Source)
{
    /// <summary>
    /// Reads the contract's fields, as strings, into a trigger; every problem is reported at once so that the caller
    /// (a ConfigMap's author, an HTTP client) can fix them in one go.
    /// </summary>
    /// <returns>The trigger, or null when <paramref name="errors"/> holds any problem.</returns>
    public static RunTrigger? Parse(string? runId, string? collectors, string? since, string source, IEnumerable<string> knownCollectors, DateTimeOffset now, out List<string> errors)
    {
        errors = [];
        runId = string.IsNullOrWhiteSpace(runId) ? null : runId.Trim();
        var valid = default(RunId);
        if (runId is null)
        {
            errors.Add("runId is required.");
        }
        else if (!RunId.TryParse(runId, out valid))
        {
            errors.Add($"runId '{runId}' is not valid: it must match [A-Za-z0-9][A-Za-z0-9._-]{{0,62}}.");
        }

        List<string>? names = null;
        if (!string.IsNullOrWhiteSpace(collectors))
        {
            var known = knownCollectors.ToList();
            names = collectors.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            var unknown = names.Where(n => !known.Contains(n, StringComparer.OrdinalIgnoreCase)).ToList();
            if (unknown.Count > 0)
            {
                errors.Add($"collectors names unknown collector(s) {string.Join(", ", unknown)}; known: {string.Join(", ", known)}.");
            }
        }

        since = string.IsNullOrWhiteSpace(since) ? null : since.Trim();
        if (since is not null)
        {
            try
            {
                TimeArgument.Parse(since, now, "since");
            }
            catch (ArgumentException ex)
            {
                errors.Add(ex.Message);
            }
        }

        return errors.Count == 0 ? new RunTrigger(valid, names, since, source) : null;
    }
}
