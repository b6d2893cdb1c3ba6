using System.Diagnostics;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collection.Cri;

/// <summary>
/// The CRI API over the runtime's unix socket, the way the kubelet talks to it: gRPC over HTTP/2 through a
/// SocketsHttpHandler whose ConnectCallback dials the socket. Every call carries its own deadline, is timed, and
/// ends as a value (response or status), never as an exception to the caller.
/// </summary>
internal sealed class CriClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly List<CriCallFacts> _calls = [];

    /// <param name="socketPath">The CRI socket.</param>
    /// <param name="timeout">Each call's deadline.</param>
    /// <param name="time">The clock calls are timed and their deadlines set by (the system's when null: a deadline travels to a real socket).</param>
    public CriClient(string socketPath, TimeSpan timeout, TimeProvider? time = null)
    {
        _timeout = timeout;
        _time = time ?? TimeProvider.System;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            DisposeHttpClient = true,
        });
        Runtime = new RuntimeService.RuntimeServiceClient(_channel);
        Images = new ImageService.ImageServiceClient(_channel);
    }

    public RuntimeService.RuntimeServiceClient Runtime { get; }

    public ImageService.ImageServiceClient Images { get; }

    public IReadOnlyList<CriCallFacts> Calls => _calls;

    /// <summary>Makes one call under its own deadline.</summary>
    public async Task<CriResult<T>> CallAsync<T>(string method, Func<CallOptions, AsyncUnaryCall<T>> call, CancellationToken cancellationToken)
        where T : IMessage
    {
        var started = _time.GetTimestamp();
        var options = new CallOptions(deadline: _time.GetUtcNow().UtcDateTime + _timeout, cancellationToken: cancellationToken);
        try
        {
            var response = await call(options);
            var elapsed = _time.GetElapsedTime(started);
            Record(method, elapsed, "ok");
            return new CriResult<T>(response, null, elapsed);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            var elapsed = _time.GetElapsedTime(started);
            Record(method, elapsed, ex.StatusCode.ToString());
            return new CriResult<T>(default, ex, elapsed);
        }
    }

    public void Dispose() => _channel.Dispose();

    private void Record(string method, TimeSpan elapsed, string outcome)
    {
        lock (_calls)
        {
            _calls.Add(new CriCallFacts(method, Math.Round(elapsed.TotalMilliseconds, 3), outcome));
        }
    }
}

/// <summary>A CRI call's response, or the error that ended it.</summary>
internal sealed record CriResult<T>(T? Response, RpcException? Error, TimeSpan Duration)
{
    public bool Succeeded => Error is null && Response is not null;

    /// <summary>Why the call failed, in words: deadline, refused, missing socket, or the runtime's status.</summary>
    public string Describe()
    {
        if (Error is null)
        {
            return "ok";
        }

        if (Error.StatusCode == StatusCode.DeadlineExceeded)
        {
            return $"timed out after {Duration.TotalSeconds:0.###} s (the runtime accepted the connection but did not answer)";
        }

        var socket = FindSocketError(Error);
        return socket switch
        {
            SocketError.ConnectionRefused => "connection refused (nothing is listening on the socket)",
            SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported => $"socket error {socket}",
            { } other => $"socket error {other}",
            null => $"{Error.StatusCode}: {Error.Status.Detail}",
        };
    }

    public string Reachability
        => Error is null ? "ok"
            : Error.StatusCode == StatusCode.DeadlineExceeded ? "timed-out"
            : FindSocketError(Error) == SocketError.ConnectionRefused ? "refused"
            : "error";

    private static SocketError? FindSocketError(Exception error)
    {
        for (Exception? current = error; current is not null; current = current.InnerException)
        {
            if (current is SocketException socket)
            {
                return socket.SocketErrorCode;
            }
        }

        return null;
    }
}
