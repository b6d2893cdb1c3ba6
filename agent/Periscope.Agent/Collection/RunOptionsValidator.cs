using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collection;

/// <summary>Checks every bound of <see cref="RunOptions"/> and reports all failures at once.</summary>
internal sealed class RunOptionsValidator : IValidateOptions<RunOptions>
{
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        CheckTimeout(failures, $"{RunOptions.SectionName}:CollectorTimeout", options.CollectorTimeout);
        foreach (var (collector, timeout) in options.CollectorTimeouts)
        {
            CheckTimeout(failures, $"{RunOptions.SectionName}:CollectorTimeouts:{collector}", timeout);
        }

        if (options.AbandonGrace < TimeSpan.Zero || options.AbandonGrace > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{RunOptions.SectionName}:AbandonGrace must be between 0 and 1 minute (found {options.AbandonGrace}).");
        }

        if (options.ShutdownGrace < TimeSpan.Zero || options.ShutdownGrace > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{RunOptions.SectionName}:ShutdownGrace must be between 0 and 10 minutes (found {options.ShutdownGrace}).");
        }

        if (options.CollectorOutputCapBytes < 1024)
        {
            failures.Add($"{RunOptions.SectionName}:CollectorOutputCapBytes must be at least 1024 (found {options.CollectorOutputCapBytes}).");
        }

        if (options.MaxFileBytes < 4096 || options.MaxBundleEvidenceBytes < options.MaxFileBytes)
        {
            failures.Add($"{RunOptions.SectionName}:MaxFileBytes must be at least 4096 and at most MaxBundleEvidenceBytes (found {options.MaxFileBytes} and {options.MaxBundleEvidenceBytes}).");
        }

        if (options.DefaultWindow <= TimeSpan.Zero)
        {
            failures.Add($"{RunOptions.SectionName}:DefaultWindow must be positive (found {options.DefaultWindow}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckTimeout(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero || value > MaxTimeout)
        {
            failures.Add($"{key} must be greater than 0 and at most {MaxTimeout} (found {value}).");
        }
    }
}
