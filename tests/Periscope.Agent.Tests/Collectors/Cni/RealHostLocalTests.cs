using Grpc.Core;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Cni;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Agent.Collection.Cri;
using Periscope.Agent.Tests.Collectors.Containerd;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Cni;

/// <summary>
/// host-local IPAM state written by the real bridge and host-local plugins (Debian's containernetworking-plugins),
/// run by the real containerd for pod sandboxes with a network of their own, then read by the cni collector.
/// </summary>
[Collection(RealContainerdTests.Name)]
public sealed class RealHostLocalTests(RealContainerd containerd)
{
    private const string Network = "periscope-pods";
    private const string Bridge = "pscni0";

    [Fact]
    public async Task Collect_RangeFilledByRealSandboxes_IsFullAndCritical()
    {
        containerd.Require();
        Requires.Root();
        using var ipam = new TempDirectory();
        var conflist = Path.Combine(containerd.CniConfDir, "10-periscope.conflist");
        using var cri = new CriClient(containerd.Socket, TimeSpan.FromSeconds(60));
        var sandboxes = new List<string>();
        try
        {
            // A /29: .1 is the bridge's gateway, .7 broadcast, so host-local hands out .2 to .6.
            await File.WriteAllTextAsync(conflist, $$$"""
                {"cniVersion":"0.4.0","name":"{{{Network}}}","plugins":[{"type":"bridge","bridge":"{{{Bridge}}}","isGateway":true,"ipMasq":false,
                 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.222.0.0/29"}]],"dataDir":"{{{ipam.Path}}}"}}]}
                """);
            await WaitNetworkReadyAsync(cri);
            for (var i = 0; i < 5; i++)
            {
                sandboxes.Add((await containerd.RunSandboxAsync(cri, "ipam", $"pod-{i}", Guid.NewGuid().ToString(), podNetwork: true)).Id);
            }

            var sixth = await Assert.ThrowsAsync<RpcException>(() => containerd.RunSandboxAsync(cri, "ipam", "pod-5", Guid.NewGuid().ToString(), podNetwork: true));
            Assert.Contains("no IP addresses available", sixth.Status.Detail, StringComparison.Ordinal);

            var collector = new CniCollector(Options.Create(new CniCollectorOptions { ConfDirectory = containerd.CniConfDir, BinDirectories = ["/usr/lib/cni"] }));
            var result = await CollectorHarness.RunAsync(collector, new HostRoot("/"), offline: true);

            var facts = (CniFacts)result.Facts!;
            Assert.Equal(("10-periscope.conflist", "bridge"), (facts.ActiveConfig, facts.NetworkMode));
            Assert.All(facts.Plugins, p => Assert.True(p.Executable, $"{p.Type} in /usr/lib/cni"));
            var range = Assert.Single(facts.Ipam);
            Assert.Equal(("host-local", Network, 5L, 5L), (range.Source, range.Network, range.Usable, range.Allocated));
            var full = Assert.Single(result.Observations, o => o.Code == "CNI_IP_EXHAUSTION");
            Assert.Equal(Severity.Critical, full.Severity);
            Assert.Contains(facts.Interfaces, i => i.Name == Bridge);
        }
        finally
        {
            foreach (var id in sandboxes)
            {
                await cri.Runtime.StopPodSandboxAsync(new StopPodSandboxRequest { PodSandboxId = id }, deadline: DateTime.UtcNow.AddSeconds(30));
                await cri.Runtime.RemovePodSandboxAsync(new RemovePodSandboxRequest { PodSandboxId = id }, deadline: DateTime.UtcNow.AddSeconds(30));
            }

            File.Delete(conflist);
            await TestProcess.RunAsync("ip", "link", "delete", Bridge);
        }
    }

    private static async Task WaitNetworkReadyAsync(CriClient cri)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var status = await cri.Runtime.StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            if (status.Status.Conditions.Single(c => c.Type == "NetworkReady").Status)
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail("containerd did not load the CNI config within 20 s");
    }
}
