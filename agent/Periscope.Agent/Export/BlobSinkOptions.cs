using Microsoft.Extensions.Options;

namespace Periscope.Agent.Export;

/// <summary>Where sealed bundles are uploaded. Bound from <c>Periscope:Sinks:Blob</c>; off while <see cref="Auth"/> is empty.</summary>
public sealed class BlobSinkOptions
{
    public const string SectionName = "Periscope:Sinks:Blob";

    /// <summary>How the agent authenticates, chosen explicitly: <c>connection-string</c> or <c>sas</c>; empty: no upload.</summary>
    public string? Auth { get; set; }

    /// <summary>The container (with <c>connection-string</c>).</summary>
    public string Container { get; set; } = "periscope";

    /// <summary>A file holding the connection string (a mounted Secret); re-read on every upload, so a rotation needs no restart.</summary>
    public string? ConnectionStringFile { get; set; }

    /// <summary>The connection string itself, where no file is mounted.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// A file holding a container-scoped SAS URL (<c>https://account.blob.core.windows.net/container?sv=…&amp;sig=…</c>);
    /// re-read on every upload. It needs only create and write permissions (<c>sp=cw</c>): no read, no list.
    /// </summary>
    public string? SasUrlFile { get; set; }

    /// <summary>Size of each block of a bundle's upload; bundles are uploaded from their file, a block at a time.</summary>
    public int BlockSizeBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Blocks in flight at once.</summary>
    public int MaxConcurrency { get; set; } = 2;

    /// <summary>Deadline of one upload (the bundle and its status record).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    public bool Enabled => !string.IsNullOrWhiteSpace(Auth);
}

/// <summary>Every problem with the Blob sink's settings at once, at start.</summary>
internal sealed class BlobSinkOptionsValidator : IValidateOptions<BlobSinkOptions>
{
    public ValidateOptionsResult Validate(string? name, BlobSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        switch (options.Auth)
        {
            case "connection-string" when string.IsNullOrWhiteSpace(options.ConnectionStringFile) && string.IsNullOrWhiteSpace(options.ConnectionString):
                failures.Add($"{BlobSinkOptions.SectionName}:Auth is connection-string but neither ConnectionStringFile nor ConnectionString is set.");
                break;
            case "connection-string" when string.IsNullOrWhiteSpace(options.Container):
                failures.Add($"{BlobSinkOptions.SectionName}:Container must name the container.");
                break;
            case "sas" when string.IsNullOrWhiteSpace(options.SasUrlFile):
                failures.Add($"{BlobSinkOptions.SectionName}:Auth is sas but SasUrlFile is not set.");
                break;
            case "connection-string" or "sas":
                break;
            case "workload-identity" or "managed-identity":
                failures.Add($"{BlobSinkOptions.SectionName}:Auth {options.Auth} is not supported by this version yet; use connection-string or sas.");
                break;
            default:
                failures.Add($"{BlobSinkOptions.SectionName}:Auth must be connection-string or sas (found '{options.Auth}').");
                break;
        }

        if (options.BlockSizeBytes is < 64 * 1024 or > 100 * 1024 * 1024)
        {
            failures.Add($"{BlobSinkOptions.SectionName}:BlockSizeBytes must be between 64 KiB and 100 MiB (found {options.BlockSizeBytes}).");
        }

        if (options.MaxConcurrency is < 1 or > 16)
        {
            failures.Add($"{BlobSinkOptions.SectionName}:MaxConcurrency must be between 1 and 16 (found {options.MaxConcurrency}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
