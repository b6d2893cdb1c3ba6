using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.Azure;

/// <summary>The <c>azure</c> collector. Bound from <c>Periscope:Collectors:Azure</c>.</summary>
public sealed class AzureCollectorOptions
{
    public const string SectionName = "Periscope:Collectors:Azure";

    /// <summary>
    /// The Instance Metadata Service: the link-local address every Azure VM reaches without a proxy. Tests point it at
    /// loopback; it is asked only where DMI says the node is an Azure VM.
    /// </summary>
    public Uri Endpoint { get; set; } = new("http://169.254.169.254");

    /// <summary>Deadline of one metadata request.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Deadline of a scheduled-events request while none has been answered yet: the first call after 24 hours without
    /// one enables the service for the VM and can take up to two minutes.
    /// </summary>
    public TimeSpan FirstEventsTimeout { get; set; } = TimeSpan.FromMinutes(2.5);

    /// <summary>
    /// How long a run's collector waits for scheduled events it has not got yet; the request itself goes on in the
    /// background and the next run has the answer.
    /// </summary>
    public TimeSpan EventsWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the long-running agent reads scheduled events between runs (zero: only in runs).</summary>
    public TimeSpan EventsPollInterval { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class AzureCollectorOptionsValidator : IValidateOptions<AzureCollectorOptions>
{
    public ValidateOptionsResult Validate(string? name, AzureCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || endpoint.Scheme is not ("http" or "https"))
        {
            failures.Add($"{AzureCollectorOptions.SectionName}:Endpoint must be an absolute http URL (found '{options.Endpoint}').");
        }

        if (options.RequestTimeout <= TimeSpan.Zero || options.FirstEventsTimeout < options.RequestTimeout || options.EventsWait < TimeSpan.Zero)
        {
            failures.Add($"{AzureCollectorOptions.SectionName}: RequestTimeout must be above zero, FirstEventsTimeout at least RequestTimeout, EventsWait not negative.");
        }

        if (options.EventsPollInterval < TimeSpan.Zero || (options.EventsPollInterval > TimeSpan.Zero && options.EventsPollInterval < TimeSpan.FromSeconds(1)))
        {
            failures.Add($"{AzureCollectorOptions.SectionName}:EventsPollInterval must be zero (off) or at least 1 second (found {options.EventsPollInterval}): the service allows 5 requests a second.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
