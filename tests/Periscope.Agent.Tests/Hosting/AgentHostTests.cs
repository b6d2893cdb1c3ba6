using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Periscope.Agent.Export;
using Periscope.Agent.Hosting;
using Periscope.Agent.Runs;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Hosting;

public sealed class AgentHostTests
{
    /// <summary>A ConfigMap or Secret volume as the kubelet writes it: each key a link into ..data, itself a link to a timestamped directory.</summary>
    private static string MountLikeKubelet(TempDirectory temp, IReadOnlyDictionary<string, string> data)
    {
        var mount = temp.Combine("mount");
        var version = Path.Combine(mount, "..2026_11_30_10_00_00.123456789");
        Directory.CreateDirectory(version);
        foreach (var (key, value) in data)
        {
            File.WriteAllText(Path.Combine(version, key), value + "\n");
        }

        File.CreateSymbolicLink(Path.Combine(mount, "..data"), Path.GetFileName(version));
        foreach (var key in data.Keys)
        {
            File.CreateSymbolicLink(Path.Combine(mount, key), Path.Combine("..data", key));
        }

        return mount;
    }

    [Fact]
    public void Build_ConfigDirectoryMountedLikeAConfigMap_BindsEachFileAsASetting()
    {
        using var temp = new TempDirectory();
        var mount = MountLikeKubelet(temp, new Dictionary<string, string>
        {
            ["Periscope__Spool__MaxBytes"] = "123456789",
            ["Periscope__Sinks__Blob__Container"] = "bundles-from-file",
        });

        using var host = AgentHost.Build(new HostSettings { ConfigDirectories = [mount] });

        Assert.Equal(123456789, host.Services.GetRequiredService<IOptions<SpoolOptions>>().Value.MaxBytes);
        Assert.Equal("bundles-from-file", host.Services.GetRequiredService<IOptions<BlobSinkOptions>>().Value.Container);
    }

    [Fact]
    public void Build_FlagAndFileSetTheSameKey_TheFlagWins()
    {
        using var temp = new TempDirectory();
        var mount = MountLikeKubelet(temp, new Dictionary<string, string> { ["Periscope__Store"] = "/from/file" });

        using var host = AgentHost.Build(new HostSettings
        {
            ConfigDirectories = [mount],
            Overrides = new Dictionary<string, string?> { ["Periscope:Store"] = "/from/flag" },
        });

        Assert.Equal("/from/flag", host.Services.GetRequiredService<IOptions<AgentOptions>>().Value.Store);
    }

    [Fact]
    public void Build_ConfigDirectoryMissing_IsAClearError()
    {
        var error = Assert.Throws<ArgumentException>(() => AgentHost.Build(new HostSettings { ConfigDirectories = ["/nonexistent/periscope-config"] }));

        Assert.Contains("--config-dir '/nonexistent/periscope-config' is not a directory", error.Message, StringComparison.Ordinal);
    }
}
