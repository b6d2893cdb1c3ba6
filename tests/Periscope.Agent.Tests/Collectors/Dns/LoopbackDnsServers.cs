using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Dns;

/// <summary>
/// Real name servers on loopback addresses of their own, port 53 (a resolv.conf cannot name another port):
/// dnsmasq (Debian) with static records and an upstream that never answers; unbound (Debian) validating a zone whose
/// trust anchor cannot be met, so it answers SERVFAIL; a socket that swallows queries; and a relay that hands queries
/// to dnsmasq 800 ms late. No test query ever goes to this machine's own resolver.
/// </summary>
public sealed class LoopbackDnsServers : IAsyncLifetime
{
    /// <summary>dnsmasq: cluster.local records, *.local and *.periscope answered locally, everything else forwarded to <see cref="Silent"/>.</summary>
    public const string Dnsmasq = "127.0.0.61";

    /// <summary>Receives queries and never answers.</summary>
    public const string Silent = "127.0.0.62";

    /// <summary>unbound: SERVFAIL for <see cref="SignedName"/> (DNSSEC validation fails).</summary>
    public const string Unbound = "127.0.0.63";

    /// <summary>Relays to dnsmasq after <see cref="RelayDelay"/>.</summary>
    public const string Slow = "127.0.0.65";

    /// <summary>A name dnsmasq answers and unbound fails to validate.</summary>
    public const string SignedName = "www.signed.periscope";

    public static readonly TimeSpan RelayDelay = TimeSpan.FromMilliseconds(800);

    private readonly List<Process> _processes = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<UdpClient> _sockets = [];
    private readonly TempDirectory _directory = new();

    /// <summary>Why the servers are not running, or null.</summary>
    public string? Missing { get; private set; }

    public void Require() => Requires.That(Missing is null, Missing ?? string.Empty);

    public async ValueTask InitializeAsync()
    {
        var isRoot = Environment.UserName == "root";
        if (!isRoot || !File.Exists("/usr/sbin/dnsmasq") || !File.Exists("/usr/sbin/unbound"))
        {
            Missing = !isRoot ? "binding port 53 on loopback needs root" : "dnsmasq or unbound is not installed (Debian packages dnsmasq-base, unbound)";
            return;
        }

        var silent = new UdpClient(new IPEndPoint(IPAddress.Parse(Silent), 53));
        _sockets.Add(silent);
        _ = SwallowAsync(silent);

        _processes.Add(Start("/usr/sbin/dnsmasq",
            "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll", "--bind-interfaces",
            $"--listen-address={Dnsmasq}", "--port=53", "--user=root", "--group=root", "--pid-file=",
            "--local=/local/", "--local=/periscope/",
            "--host-record=kubernetes.default.svc.cluster.local,10.0.0.1",
            $"--host-record={SignedName},10.0.0.2",
            $"--server={Silent}"));

        var config = Path.Combine(_directory.Path, "unbound.conf");
        await File.WriteAllTextAsync(config, $$"""
            server:
              interface: {{Unbound}}
              port: 53
              do-daemonize: no
              username: ""
              chroot: ""
              directory: "{{_directory.Path}}"
              pidfile: ""
              use-syslog: no
              logfile: ""
              do-not-query-localhost: no
              access-control: 127.0.0.0/8 allow
              module-config: "validator iterator"
              trust-anchor: "signed.periscope. DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE2B6A5A0D3C4E1E4B0E7B1B3C"
              do-ip6: no
            forward-zone:
              name: "signed.periscope."
              forward-addr: {{Dnsmasq}}@53
            forward-zone:
              name: "."
              forward-addr: {{Silent}}@53
            """);
        _processes.Add(Start("/usr/sbin/unbound", "-d", "-c", config));

        var relay = new UdpClient(new IPEndPoint(IPAddress.Parse(Slow), 53));
        _sockets.Add(relay);
        _ = RelayAsync(relay);

        foreach (var server in new[] { Dnsmasq, Unbound })
        {
            if (!await AnswersAsync(server))
            {
                Missing = $"the test name server on {server} did not start: {string.Join(" | ", _processes.Where(p => p.HasExited).Select(p => p.StandardError.ReadToEnd()))}";
                Assert.Fail(Missing);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var process in _processes)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
                // exited already
            }

            process.Dispose();
        }

        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        _stop.Dispose();
        _directory.Dispose();
    }

    private static Process Start(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
        return Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
    }

    /// <summary>Waits up to 10 s for the server to answer (anything) to a query for <see cref="SignedName"/>.</summary>
    private static async Task<bool> AnswersAsync(string server)
    {
        // A DNS query message: id, flags (recursion desired), one question; the name as length-prefixed labels; type A, class IN.
        byte[] query = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
            .. SignedName.Split('.').SelectMany(label => (byte[])[(byte)label.Length, .. global::System.Text.Encoding.ASCII.GetBytes(label)]),
            0, 0, 1, 0, 1];
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            using var client = new UdpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            try
            {
                await client.SendAsync(query, new IPEndPoint(IPAddress.Parse(server), 53), timeout.Token);
                await client.ReceiveAsync(timeout.Token);
                return true;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                await Task.Delay(100);
            }
        }

        return false;
    }

    private async Task SwallowAsync(UdpClient socket)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await socket.ReceiveAsync(_stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // stopped
        }
    }

    private async Task RelayAsync(UdpClient socket)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var query = await socket.ReceiveAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await Task.Delay(RelayDelay, _stop.Token);
                        using var upstream = new UdpClient();
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                        timeout.CancelAfter(TimeSpan.FromSeconds(3));
                        await upstream.SendAsync(query.Buffer, new IPEndPoint(IPAddress.Parse(Dnsmasq), 53), timeout.Token);
                        var answer = await upstream.ReceiveAsync(timeout.Token);
                        await socket.SendAsync(answer.Buffer, query.RemoteEndPoint, timeout.Token);
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
                    {
                        // stopped, or dnsmasq did not answer: the client sees a timeout
                    }
                });
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // stopped
        }
    }
}

[CollectionDefinition(Name)]
public sealed class LoopbackDnsTests : ICollectionFixture<LoopbackDnsServers>
{
    public const string Name = "loopback name servers";
}
