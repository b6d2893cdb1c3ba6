using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.Connectivity;

/// <summary>The <c>connectivity</c> collector. Bound from <c>Periscope:Collectors:Connectivity</c>.</summary>
public sealed class ConnectivityCollectorOptions
{
    public const string SectionName = "Periscope:Collectors:Connectivity";

    /// <summary>More endpoints to probe, <c>host:port</c> (TLS), e.g. a private registry or a proxy's target.</summary>
    public IList<string> Endpoints { get; set; } = [];

    /// <summary>
    /// Probed only where DMI says the node is an Azure VM: AKS's documented outbound dependencies (the Microsoft
    /// container registry, Entra ID login, Azure management, the package and binary mirrors).
    /// </summary>
    public IList<string> AzureEndpoints { get; set; } =
        ["mcr.microsoft.com:443", "login.microsoftonline.com:443", "management.azure.com:443", "packages.microsoft.com:443", "acs-mirror.azureedge.net:443", "packages.aks.azure.com:443"];

    /// <summary>Deadline of each step of a probe (resolve, connect, handshake); probes run concurrently.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>More trusted roots (PEM), for endpoints signed by a private CA; the API server's CA comes from the kubelet's kubeconfig.</summary>
    public string? TrustedCaFile { get; set; }

    /// <summary>Where the kubelet's kubeconfig is looked for (its API server and CA).</summary>
    public IList<string> KubeconfigPaths { get; set; } = ["/var/lib/kubelet/kubeconfig", "/etc/kubernetes/kubelet.conf"];

    /// <summary>Most endpoints probed in one run.</summary>
    public int MaxEndpoints { get; set; } = 32;

    /// <summary>Probe the registries the node's images come from (the CRI image list).</summary>
    public bool Registries { get; set; } = true;

    /// <summary>The CRI socket the image list is read from, a node path under the host root.</summary>
    public string CriSocketPath { get; set; } = "/run/containerd/containerd.sock";

    /// <summary>Most registries probed (those with the most images first).</summary>
    public int MaxRegistries { get; set; } = 16;

    /// <summary>Go through the HTTPS proxy the kubelet (API server) or containerd (everything else) is started with, as they do.</summary>
    public bool UseNodeProxy { get; set; } = true;
}

internal sealed class ConnectivityCollectorOptionsValidator : IValidateOptions<ConnectivityCollectorOptions>
{
    public ValidateOptionsResult Validate(string? name, ConnectivityCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var endpoint in options.Endpoints.Concat(options.AzureEndpoints))
        {
            if (!ConnectivityEndpoint.TryParse(endpoint, "configured", out _))
            {
                failures.Add($"{ConnectivityCollectorOptions.SectionName}: '{endpoint}' is not host:port.");
            }
        }

        if (options.ProbeTimeout <= TimeSpan.Zero || options.MaxEndpoints < 1 || options.MaxRegistries < 0)
        {
            failures.Add($"{ConnectivityCollectorOptions.SectionName}: ProbeTimeout must be above zero, MaxEndpoints at least 1 and MaxRegistries not negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>An endpoint to probe.</summary>
internal sealed record ConnectivityEndpoint(string Role, string Host, int Port)
{
    /// <summary><c>host:port</c>, <c>[v6]:port</c> or an https URL (port 443 by default).</summary>
    public static bool TryParse(string text, string role, out ConnectivityEndpoint endpoint)
    {
        endpoint = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var uri = text.Contains("://", StringComparison.Ordinal) ? text : "https://" + text;
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || string.IsNullOrEmpty(parsed.Host))
        {
            return false;
        }

        endpoint = new ConnectivityEndpoint(role, parsed.Host.Trim('[', ']'), parsed.IsDefaultPort ? 443 : parsed.Port);
        return true;
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
