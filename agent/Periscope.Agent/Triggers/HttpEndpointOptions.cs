using System.Net;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Triggers;

/// <summary>The agent's local HTTP endpoint (<c>periscope-agent run</c> only). Bound from <c>Periscope:Http</c>.</summary>
public sealed class HttpEndpointOptions
{
    public const string SectionName = "Periscope:Http";

    /// <summary>Serve the endpoint at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Address and port, <c>127.0.0.1:9469</c> by default: local to the node (the DaemonSet runs with hostNetwork).
    /// Port 0 picks a free port; the bound address is logged.
    /// </summary>
    public string Listen { get; set; } = "127.0.0.1:9469";

    /// <summary>
    /// A file holding the bearer token that <c>/v1/*</c> requests must carry (a mounted Secret); re-read on every request,
    /// so a rotated token works without a restart. Unset: <c>/v1/*</c> answers 403, only <c>/healthz</c> is served.
    /// </summary>
    public string? TokenFile { get; set; }

    public IPEndPoint ListenEndPoint() => IPEndPoint.Parse(Listen);
}

internal sealed class HttpEndpointOptionsValidator : IValidateOptions<HttpEndpointOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Enabled && !IPEndPoint.TryParse(options.Listen ?? string.Empty, out _))
        {
            failures.Add($"{HttpEndpointOptions.SectionName}:Listen must be an address and port such as 127.0.0.1:9469 (found '{options.Listen}').");
        }

        if (options.Enabled && options.TokenFile is { Length: > 0 } file && !File.Exists(file))
        {
            failures.Add($"{HttpEndpointOptions.SectionName}:TokenFile '{file}' does not exist.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
