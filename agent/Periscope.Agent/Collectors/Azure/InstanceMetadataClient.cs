using System.Net;
using System.Text;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Collectors.Azure;

/// <summary>
/// GETs from the Instance Metadata Service with the <c>Metadata: true</c> header it requires, never through a proxy
/// (the service is link-local: a proxy would answer for another machine, or not at all). Nothing is ever POSTed: the
/// agent never approves a scheduled event.
/// </summary>
internal sealed class InstanceMetadataClient(IOptions<AzureCollectorOptions> options) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectTimeout = options.Value.RequestTimeout,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public Uri Endpoint => options.Value.Endpoint;

    /// <summary>The body of a 200 answer; throws <see cref="InstanceMetadataException"/> with the reason otherwise.</summary>
    public async Task<string> GetAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var uri = new Uri(Endpoint, path);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Add("Metadata", "true");
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var body = await ReadBoundedAsync(response.Content, deadline.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var said = body.Length > 200 ? body[..200] : body;
                throw new InstanceMetadataException($"{uri.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode} {response.ReasonPhrase}{(said.Length > 0 ? ": " + said.ReplaceLineEndings(" ") : "")}");
            }

            return body;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InstanceMetadataException($"{uri.GetLeftPart(UriPartial.Path)} did not answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            throw new InstanceMetadataException($"{uri.GetLeftPart(UriPartial.Path)} could not be reached: {ex.Message}");
        }
    }

    private static async Task<string> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[InstanceMetadata.MaxDocumentBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        if (total > InstanceMetadata.MaxDocumentBytes)
        {
            throw new InstanceMetadataException($"the metadata answer is larger than {InstanceMetadata.MaxDocumentBytes} bytes");
        }

        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The metadata service refused, failed or did not answer in time.</summary>
internal sealed class InstanceMetadataException(string message) : Exception(message);
