using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Periscope.Testing;

/// <summary>
/// A real Azurite Blob service (npm <c>azurite</c>, installed by scripts/test.sh into .tools/azurite) on 127.0.0.1 and
/// a free port, with a temporary location; the well-known development account.
/// </summary>
public sealed class Azurite : IAsyncLifetime
{
    public const string Account = "devstoreaccount1";
    public const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly TempDirectory _location = new();
    private readonly StringBuilder _log = new();
    private readonly TestCertificates? _tls;
    private Process? _process;

    public Azurite()
    {
    }

    private Azurite(TestCertificates tls) => _tls = tls;

    /// <summary>Azurite over TLS with the test CA's certificate and OAuth (bearer tokens) accepted besides shared keys.</summary>
    public static Azurite WithTls(TestCertificates tls) => new(tls);

    public int Port { get; private set; }

    public string? Missing { get; private set; }

    private string Scheme => _tls is null ? "http" : "https";

    public string ConnectionString => $"DefaultEndpointsProtocol={Scheme};AccountName={Account};AccountKey={Key};BlobEndpoint={Scheme}://127.0.0.1:{Port}/{Account};";

    public Uri ServiceUri => new($"{Scheme}://127.0.0.1:{Port}/{Account}");

    public void Require() => Requires.That(Missing is null, Missing ?? string.Empty);

    public async ValueTask InitializeAsync() => await StartAsync();

    /// <summary>Kills the service (as a crash would), keeping its data for <see cref="StartAsync"/>.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Starts the service, on the same port and data as before when it ran already.</summary>
    public async Task StartAsync()
    {
        var binary = Environment.GetEnvironmentVariable("PERISCOPE_AZURITE") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Fixtures.Repository, ".tools/azurite/node_modules/.bin/azurite-blob");
        if (!File.Exists(binary))
        {
            Missing = $"azurite-blob not found at {binary} (scripts/test.sh installs npm azurite@3.37.0 into .tools/azurite)";
            return;
        }

        if (Port == 0)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        List<string> args = ["--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--location", _location.Path, "--disableTelemetry", "--skipApiVersionCheck", "--loose"];
        if (_tls is not null)
        {
            args.AddRange(["--cert", _tls.ServerCertificatePem, "--key", _tls.ServerKeyPem, "--oauth", "basic"]);
        }

        if (Environment.GetEnvironmentVariable("PERISCOPE_AZURITE_DEBUG") is { Length: > 0 } debugDirectory)
        {
            // Azurite's own debug log (its signature checks), for investigating a refused request by hand.
            args.AddRange(["--debug", Path.Combine(debugDirectory, $"azurite-{Port}.log")]);
        }

        var info = new ProcessStartInfo(binary, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, e) => { lock (_log) { _log.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { lock (_log) { _log.AppendLine(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        Missing = $"Azurite did not start on port {Port}: {_log}";
        Assert.Fail(Missing);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _location.Dispose();
    }
}
