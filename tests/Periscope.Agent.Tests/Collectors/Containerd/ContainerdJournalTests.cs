using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Containerd;

public sealed class ContainerdJournalTests
{
    private const long Start = 1_763_632_800;

    [Fact]
    public async Task Collect_SixStartsInTenMinutes_RaisesRestartsFrequentEvenWithoutASocket()
    {
        using var root = new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n");
        var entries = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            entries.Add(TestJournal.Entry(Start + (i * 100), "Started containerd container runtime.", unit: "containerd.service"));
            entries.Add(TestJournal.Entry(Start + (i * 100), "containerd successfully booted in 0.051s", unit: "containerd.service"));
        }

        entries.Add(TestJournal.Entry(Start + 50, "level=info msg=\"loading plugin\"", unit: "containerd.service"));
        entries.Add(TestJournal.Entry(Start + 60, "containerd successfully booted in 0.05s", unit: "kubelet.service")); // another unit
        await TestJournal.WriteAsync(root, [.. entries]);

        var (observations, result) = await CollectAsync(root);

        var restarts = Assert.Single(observations, o => o.Code == "CONTAINERD_RESTARTS_FREQUENT");
        Assert.Equal("6", restarts.Attributes["startsInWindow"]);
        Assert.Contains(observations, o => o.Code == "RUNTIME_UNREACHABLE");
        var journal = File.ReadAllLines(result.Files.Single(f => f.BundlePath == "containerd/journal.log").StagedPath);
        Assert.Equal(13, journal.Length);
        Assert.Matches("Started containerd|containerd successfully booted", journal[(int)restarts.Evidence!.Line!.Value - 1]);
    }

    [Fact]
    public async Task Collect_TwoStarts_RaisesNothing()
    {
        using var root = new NodeRoot().File("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\n");
        await TestJournal.WriteAsync(root,
            TestJournal.Entry(Start, "containerd successfully booted in 0.05s", unit: "containerd.service"),
            TestJournal.Entry(Start + 600, "containerd successfully booted in 0.05s", unit: "containerd.service"));

        var (observations, _) = await CollectAsync(root);

        Assert.DoesNotContain(observations, o => o.Code == "CONTAINERD_RESTARTS_FREQUENT");
    }

    [Fact]
    public void Blank_RegistryCredentialsInConfig_AreBlankedLineForLine()
    {
        var config = """
            [plugins."io.containerd.grpc.v1.cri".registry.configs."myacr.azurecr.io".auth]
              username = "puller"
              password = "hunter2"
              auth = "cHVsbGVyOmh1bnRlcjI="
              identitytoken = "eyJhbGciOi"
            [plugins."io.containerd.grpc.v1.cri"]
              sandbox_image = "mcr.microsoft.com/oss/kubernetes/pause:3.6"
            """;

        var (text, count) = ContainerdConfigFile.Blank(config);

        Assert.Equal(3, count);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("cHVsbGVy", text, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJhbGciOi", text, StringComparison.Ordinal);
        Assert.Contains("sandbox_image = \"mcr.microsoft.com/oss/kubernetes/pause:3.6\"", text, StringComparison.Ordinal);
        Assert.Equal(config.Split('\n').Length, text.Split('\n').Length);
    }

    private static async Task<(IReadOnlyList<Observation> Observations, CollectorResult Result)> CollectAsync(NodeRoot root)
    {
        var collector = new ContainerdCollector(Options.Create(new ContainerdCollectorOptions()), NullLogger<ContainerdCollector>.Instance);
        var result = await CollectorHarness.RunAsync(collector, new HostRoot(root.Path),
            DateTimeOffset.FromUnixTimeSeconds(Start - 3600), DateTimeOffset.FromUnixTimeSeconds(Start + 3600));
        return (result.Observations, result);
    }
}
