using Microsoft.Extensions.Options;

namespace Periscope.Agent.Export;

/// <summary>
/// The local store as a spool in front of an exporter. Bound from <c>Periscope:Spool</c>; applies only while an
/// exporter is configured (without one the store is the bundles' final place and nothing is evicted).
/// </summary>
public sealed class SpoolOptions
{
    public const string SectionName = "Periscope:Spool";

    /// <summary>Most bytes of bundles (zips and status records) kept; the oldest are evicted first.</summary>
    public long MaxBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Bundles older than this are evicted, uploaded or not.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Tries per bundle and pass before it is left for the next pass.</summary>
    public int UploadAttempts { get; set; } = 4;

    /// <summary>Wait before the second try; doubled each try, with ±50 % jitter, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest wait between tries.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How often the long-running agent (<c>periscope-agent run</c>) tries again to upload the bundles still pending
    /// between runs (after a storage outage or a refused credential, say); each run tries them too.
    /// </summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromMinutes(5);
}

internal sealed class SpoolOptionsValidator : IValidateOptions<SpoolOptions>
{
    public ValidateOptionsResult Validate(string? name, SpoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.MaxBytes < 4096)
        {
            failures.Add($"{SpoolOptions.SectionName}:MaxBytes must be at least 4096 (found {options.MaxBytes}).");
        }

        if (options.Retention <= TimeSpan.Zero)
        {
            failures.Add($"{SpoolOptions.SectionName}:Retention must be positive (found {options.Retention}).");
        }

        if (options.UploadAttempts is < 1 or > 20)
        {
            failures.Add($"{SpoolOptions.SectionName}:UploadAttempts must be between 1 and 20 (found {options.UploadAttempts}).");
        }

        if (options.InitialBackoff < TimeSpan.Zero || options.MaxBackoff < options.InitialBackoff)
        {
            failures.Add($"{SpoolOptions.SectionName}:InitialBackoff must be at least 0 and at most MaxBackoff.");
        }

        if (options.RetryInterval < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{SpoolOptions.SectionName}:RetryInterval must be at least 1 second (found {options.RetryInterval}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
