using System.Net;

namespace Periscope.Agent.Kubernetes;

/// <summary>The Kubernetes API answered with an error status (the message is the API's own Status message, if any).</summary>
internal sealed class KubernetesApiException(HttpStatusCode status, string? message)
    : Exception($"the Kubernetes API answered {(int)status} {status}{(string.IsNullOrEmpty(message) ? string.Empty : ": " + message)}")
{
    public HttpStatusCode Status => status;
}
