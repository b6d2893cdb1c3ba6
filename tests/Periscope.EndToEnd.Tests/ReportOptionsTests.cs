using System.Text.Json;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary><c>report</c>'s correlation thresholds come from option files (a mounted ConfigMap) and are validated.</summary>
public sealed class ReportOptionsTests
{
    private static async Task<TempDirectory> StoreAsync()
    {
        var store = new TempDirectory();
        // OOM on two of four nodes: node scope by default (50 % < 80 %), cluster scope at a 50 % share.
        var oom = TestBundles.Finding("KERNEL_OOM_KILL", Severity.Warning, "oom");
        await TestBundles.WriteAsync(store.Path, "run-1", "n1", [oom]);
        await TestBundles.WriteAsync(store.Path, "run-1", "n2", [oom]);
        await TestBundles.WriteAsync(store.Path, "run-1", "n3");
        await TestBundles.WriteAsync(store.Path, "run-1", "n4");
        return store;
    }

    private static string OptionFiles(TempDirectory temp, string name, params (string Key, string Value)[] files)
    {
        var directory = temp.Combine(name);
        Directory.CreateDirectory(directory);
        foreach (var (key, value) in files)
        {
            File.WriteAllText(Path.Combine(directory, key), value);
        }

        return directory;
    }

    private static string Scope(string json)
    {
        using var report = JsonDocument.Parse(json);
        return report.RootElement.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("code").GetString() == "KERNEL_OOM_KILL").GetProperty("scope").GetString()!;
    }

    [Fact]
    public async Task Report_ThresholdsFromOptionFiles_ChangeTheScope()
    {
        using var store = await StoreAsync();
        using var temp = new TempDirectory();
        var options = OptionFiles(temp, "options", ("Periscope__Correlation__ClusterShare", "0.5"), ("Periscope__Correlation__ClusterMinNodes", "2"));

        var (defaultExit, defaults, _) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--format", "json");
        var (exit, loosened, stderr) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--format", "json", "--config-dir", options);

        Assert.Equal(1, defaultExit);
        Assert.Equal("node", Scope(defaults));
        Assert.True(exit == 1, stderr);
        Assert.Equal("cluster", Scope(loosened));
    }

    [Theory]
    [InlineData("json")]
    [InlineData("markdown")]
    public async Task Report_Out_ReplacesTheFileWhole_LeavingNoTemporaryFile(string format)
    {
        using var store = await StoreAsync();
        using var temp = new TempDirectory();
        var output = temp.Combine("report.out");
        await File.WriteAllTextAsync(output, "an older report, longer than nothing at all", TestContext.Current.CancellationToken);

        var (exit, stdout, stderr) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--format", format, "--out", output);

        Assert.True(exit == 1, stderr);
        Assert.Empty(stdout);
        var written = await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken);
        if (format == "json")
        {
            Assert.Equal("node", Scope(written)); // a whole JSON document
        }
        else
        {
            Assert.StartsWith("# Periscope health report", written, StringComparison.Ordinal);
        }

        Assert.Equal(["report.out"], Directory.EnumerateFileSystemEntries(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Report_InvalidThresholds_AreAllNamed_Exit3()
    {
        using var store = await StoreAsync();
        using var temp = new TempDirectory();
        var options = OptionFiles(temp, "options", ("Periscope__Correlation__ClusterShare", "1.5"), ("Periscope__Correlation__MaxEvidence", "0"));

        var (exit, stdout, stderr) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--config-dir", options);

        Assert.Equal(3, exit);
        Assert.Empty(stdout);
        Assert.Contains("ClusterShare must be in (0, 1] (found 1.5)", stderr, StringComparison.Ordinal);
        Assert.Contains("MaxEvidence must be at least 1", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_ExpectedNodesFromKubernetesWithoutAccess_IsRefused_Exit3()
    {
        using var store = await StoreAsync();
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")))
        {
            Assert.Skip("Runs in a pod: the service account gives access.");
        }

        var (exit, _, stderr) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--expected-nodes", "kubernetes");

        Assert.Equal(3, exit);
        Assert.Contains("need a kubeconfig (--kubeconfig)", stderr, StringComparison.Ordinal);
    }
}
