using System.Text.Json;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>Bad input gets a clear error and exit code 3, or a recorded status: never a crash or a hang.</summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task Collect_RunIdWithTraversal_ExitsThreeWithClearError()
    {
        using var store = new TempDirectory();

        var (exit, stdout, stderr) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("healthy"), "--offline", "--out", store.Path, "--run-id", "../escape", "--json");

        Assert.Equal(3, exit);
        Assert.Contains("Run id '../escape' is not valid", stderr, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(stdout);
        Assert.Equal("unknown", document.RootElement.GetProperty("status").GetString());
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.Path));
    }

    [Fact]
    public async Task Serve_InvalidSettings_ExitsThreeNamingEveryProblemAtOnceWithTheFlagsWinning()
    {
        // The option files say a valid address and store; the flags, which win, say otherwise; no token file at all.
        using var config = new TempDirectory();
        await File.WriteAllTextAsync(config.Combine("Periscope__Server__Listen"), "127.0.0.1:1");
        await File.WriteAllTextAsync(config.Combine("Periscope__Server__SasLifetime"), "00:00:10");
        var missing = config.Combine("no-such-store");

        var (exit, _, stderr) = await CliRunner.CollectorAsync("serve", "--config-dir", config.Path, "--store", missing, "--listen", "not-an-endpoint");

        Assert.Equal(3, exit);
        Assert.StartsWith("periscope-collector serve:", stderr, StringComparison.Ordinal);
        Assert.Contains("Periscope:Server:TokenFile (--token-file) is required", stderr, StringComparison.Ordinal);
        Assert.Contains($"Periscope:Server:Store '{missing}' is not a directory", stderr, StringComparison.Ordinal);
        Assert.Contains("Periscope:Server:Listen must be an address and port such as 127.0.0.1:8080 (found 'not-an-endpoint')", stderr, StringComparison.Ordinal);
        Assert.Contains("Periscope:Server:SasLifetime must be between one minute and one hour", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n')); // one sentence, every problem in it
    }

    [Fact]
    public async Task Collect_UnwritableStore_ExitsThreeBeforeCollecting()
    {
        using var directory = new TempDirectory();
        var blocker = directory.Combine("not-a-directory");
        await File.WriteAllTextAsync(blocker, "a file where the store should be");

        var (exit, _, stderr) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("healthy"), "--offline", "--out", Path.Combine(blocker, "store"));

        Assert.Equal(3, exit);
        Assert.StartsWith("periscope-agent collect:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_UnknownCollector_ExitsThreeNamingTheKnownOnes()
    {
        var (exit, _, stderr) = await CliRunner.AgentAsync("collect", "--collectors", "system,containerd-typo", "--out", "/nonexistent");

        Assert.Equal(3, exit);
        Assert.Contains("containerd-typo", stderr, StringComparison.Ordinal);
        Assert.Contains("known: system, kernel", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_UnknownOption_ExitsThree()
    {
        var (exit, _, stderr) = await CliRunner.AgentAsync("collect", "--no-such-flag");

        Assert.Equal(3, exit);
        Assert.Contains("--no-such-flag", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_NodeWithoutProcFiles_SealsABundleWithSystemPartial()
    {
        using var root = new NodeRoot().File("/etc/hostname", "bare-node\n").File("/etc/os-release", "PRETTY_NAME=\"Bare\"\n").File("/etc/resolv.conf", "nameserver 192.0.2.53\n");
        using var store = new TempDirectory();

        var (exit, stdout, stderr) = await CliRunner.AgentAsync("collect", "--host-root", root.Path, "--offline", "--out", store.Path, "--json");

        Assert.True(exit is 0 or 3, stderr);
        using var document = JsonDocument.Parse(stdout);
        var system = document.RootElement.GetProperty("collectors").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "system");
        Assert.Equal("partial", system.GetProperty("status").GetString());
        Assert.Contains("/proc/meminfo is missing", system.GetProperty("error").GetString(), StringComparison.Ordinal);
        var kernel = document.RootElement.GetProperty("collectors").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "kernel");
        Assert.Equal("skipped", kernel.GetProperty("status").GetString());
        Assert.True(File.Exists(document.RootElement.GetProperty("bundle").GetString()));
    }

    [Fact]
    public async Task Collect_UnreadableKmsg_FallsBackToKernLog()
    {
        using var root = new NodeRoot()
            .File("/etc/hostname", "fallback-node\n")
            .File("/proc/stat", "btime 1763632800\n")
            .Dir("/dev/kmsg") // a directory where the device should be: it cannot be read
            .File("/var/log/kern.log", "2025-11-20T10:30:00.000000+00:00 fallback-node kernel: [ 1800.000000] Kernel panic - not syncing: Fatal exception\n\u0000\u0001garbage line\n");
        using var store = new TempDirectory();

        var (exit, stdout, stderr) = await CliRunner.AgentAsync("collect", "--host-root", root.Path, "--offline", "--collectors", "kernel",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--json");

        Assert.True(exit == 2, stderr);
        using var document = JsonDocument.Parse(stdout);
        Assert.Equal("KERNEL_OOPS", document.RootElement.GetProperty("findings")[0].GetProperty("code").GetString());
        using var reader = Periscope.Bundle.BundleReader.Open(File.OpenRead(document.RootElement.GetProperty("bundle").GetString()!));
        var facts = reader.ReadFacts().Kernel!;
        Assert.Equal("kern.log", facts.Source);
        Assert.Contains(facts.SourceErrors, e => e.Contains("/dev/kmsg", StringComparison.Ordinal));
        Assert.Equal(1, facts.UnparsedLines);
    }

    [Fact]
    public async Task Collect_SinceAfterUntil_ExitsThree()
    {
        using var store = new TempDirectory();

        var (exit, _, stderr) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("healthy"), "--offline", "--out", store.Path,
            "--since", "2025-11-21T00:00:00Z", "--until", "2025-11-20T00:00:00Z");

        Assert.Equal(3, exit);
        Assert.Contains("--since", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collect_SameRunTwice_RefusesToOverwriteTheSealedBundle()
    {
        using var store = new TempDirectory();
        var args = new[] { "collect", "--host-root", Fixtures.Node("healthy"), "--offline", "--out", store.Path, "--run-id", "once" };
        var first = await CliRunner.AgentAsync(args);
        var before = await File.ReadAllBytesAsync(Path.Combine(store.Path, "once", "healthy.zip"));

        var (exit, _, stderr) = await CliRunner.AgentAsync(args);

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(3, exit);
        Assert.Contains("already holds a bundle", stderr, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(Path.Combine(store.Path, "once", "healthy.zip")));
    }
}

/// <summary>A defect anywhere in a run still ends in exit code 3 and one JSON document, never a crash or exit 1/2.</summary>
public sealed class UnexpectedFailureTests
{
    [Fact]
    public async Task Collect_DefectOutsideAnyCollector_ExitsThreeWithOneJsonDocument()
    {
        using var store = new TempDirectory();
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = await Periscope.Agent.Cli.AgentCli.RunAsync(
            ["collect", "--out", store.Path, "--json"], stdout, stderr,
            services => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<Periscope.Agent.Collection.INodeFileSystem>(services, new BrokenFileSystem()));

        Assert.Equal(3, exit);
        Assert.Contains("unexpected InvalidOperationException", stderr.ToString(), StringComparison.Ordinal);
        using var document = JsonDocument.Parse(stdout.ToString());
        Assert.Equal(3, document.RootElement.GetProperty("exitCode").GetInt32());
    }

    private sealed class BrokenFileSystem : Periscope.Agent.Collection.INodeFileSystem
    {
        public string Root => "/broken";
        public string Resolve(string nodePath) => throw new InvalidOperationException("defect");
        public string ToNodePath(string realPath) => throw new InvalidOperationException("defect");
        public bool FileExists(string nodePath) => throw new InvalidOperationException("defect");
        public bool DirectoryExists(string nodePath) => throw new InvalidOperationException("defect");
        public bool IsCharacterDevice(string nodePath) => throw new InvalidOperationException("defect");
        public Stream OpenRead(string nodePath) => throw new InvalidOperationException("defect");
        public Microsoft.Win32.SafeHandles.SafeFileHandle OpenCharacterDevice(string nodePath) => throw new InvalidOperationException("defect");
        public Task<string?> TryReadTextAsync(string nodePath, int maxBytes, CancellationToken cancellationToken) => throw new InvalidOperationException("defect");
        public IReadOnlyList<string> ListDirectory(string nodePath) => throw new InvalidOperationException("defect");
        public Periscope.Agent.Collection.FileSystemUsage? GetUsage(string nodePath, out string? problem) => throw new InvalidOperationException("defect");
    }
}
