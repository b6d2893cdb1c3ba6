using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Periscope.Testing;

/// <summary>
/// A FAKE HTTPS proxy (an egress proxy is not something the tests can reach): an HTTP/1.1 <c>CONNECT</c> tunnel server
/// on loopback (RFC 9110 §9.3.6), the way corporate proxies and the kubelet's and containerd's Go clients speak it. It
/// maps the names it is asked for to loopback ports (<see cref="Route"/>: it resolves, not the client), answers
/// <c>403</c> for any other target, <c>407</c> when <see cref="RequiredAuthorization"/> is set and not sent, and
/// records each request line and its <c>Proxy-Authorization</c>.
/// </summary>
public sealed class FakeConnectProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, int> _routes = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();
    private readonly List<(string Target, string? Authorization)> _requests = [];

    public FakeConnectProxy()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The <c>Proxy-Authorization</c> value a CONNECT must carry, or null for none.</summary>
    public string? RequiredAuthorization { get; set; }

    public IReadOnlyList<(string Target, string? Authorization)> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Tunnels <paramref name="target"/> (<c>host:port</c> as the client names it) to a loopback port.</summary>
    public FakeConnectProxy Route(string target, int loopbackPort)
    {
        lock (_lock)
        {
            _routes[target] = loopbackPort;
        }

        return this;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = await ReadHeadAsync(stream);
                var lines = head.Split("\r\n");
                var request = lines[0].Split(' ');
                var authorization = lines.Skip(1).Where(l => l.StartsWith("Proxy-Authorization:", StringComparison.OrdinalIgnoreCase))
                    .Select(l => l["Proxy-Authorization:".Length..].Trim()).FirstOrDefault();
                int port;
                lock (_lock)
                {
                    _requests.Add((request.Length > 1 ? request[1] : string.Empty, authorization));
                    port = request.Length == 3 && request[0] == "CONNECT" && _routes.TryGetValue(request[1], out var p) ? p : 0;
                }

                if (RequiredAuthorization is { } required && authorization != required)
                {
                    await AnswerAsync(stream, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\n\r\n");
                    return;
                }

                if (port == 0)
                {
                    await AnswerAsync(stream, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
                    return;
                }

                using var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, port, _stop.Token);
                await AnswerAsync(stream, "HTTP/1.1 200 Connection established\r\n\r\n");
                var up = upstream.GetStream();
                await Task.WhenAny(stream.CopyToAsync(up, _stop.Token), up.CopyToAsync(stream, _stop.Token));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client or the test went away.
            }
        }
    }

    private async Task AnswerAsync(NetworkStream stream, string answer) => await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), _stop.Token);

    private async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 16 * 1024 && !(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0)
            {
                break;
            }

            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString([.. head]);
    }
}
