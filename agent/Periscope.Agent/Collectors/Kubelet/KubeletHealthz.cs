using System.Text;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Kubelet;

/// <summary>The kubelet's healthz probe (its loopback; the DaemonSet runs with hostNetwork), for the collector and the signal loop.</summary>
internal static class KubeletHealthz
{
    private const int MaxBody = 4096;

    public static async Task<HealthzFacts> ProbeAsync(KubeletCollectorOptions o, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = o.HealthzTimeout }) { Timeout = o.HealthzTimeout };
        try
        {
            using var response = await client.GetAsync(o.HealthzUrl, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var body = await ReadBodyAsync(response, cancellationToken);
            return new HealthzFacts(o.HealthzUrl, (int)response.StatusCode, body, null, time.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var error = ex is TaskCanceledException ? $"no answer within {o.HealthzTimeout.TotalSeconds:0.#} s" : ex.Message;
            return new HealthzFacts(o.HealthzUrl, null, null, error, time.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private static async Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxBody];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, total).Trim();
    }
}
