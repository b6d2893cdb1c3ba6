using System.Text;
using System.Text.Json;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Cni;

/// <summary>
/// The native agent run inside a network namespace of its own (<c>ip netns exec</c> gives it that namespace's
/// /sys/class/net and /proc/net): real veth interfaces, routes and iptables rules, read as on a node.
/// </summary>
public sealed class NetnsCniTests
{
    [Fact]
    public async Task NativeAgent_InANetworkNamespace_ReadsItsInterfacesRoutesAndRules()
    {
        Requires.Root();
        Requires.Tool("ip");
        Requires.Tool("iptables-restore");
        var binary = Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        using var store = new TempDirectory();
        var ns = "ps-cni-" + Guid.NewGuid().ToString("N")[..8];
        await Run("ip", "netns", "add", ns);
        try
        {
            await Run("ip", "-n", ns, "link", "set", "lo", "up");
            await Run("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "vethpod1");
            await Run("ip", "-n", ns, "link", "set", "eth0", "mtu", "1500", "up");
            await Run("ip", "-n", ns, "link", "set", "vethpod1", "mtu", "9000", "up");
            await Run("ip", "-n", ns, "addr", "add", "10.99.0.2/24", "dev", "eth0");
            await Run("ip", "-n", ns, "route", "add", "default", "via", "10.99.0.1", "dev", "eth0");
            await Run("ip", "-n", ns, "route", "add", "10.244.7.0/24", "dev", "vethpod1");
            var rules = new StringBuilder("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
            for (var i = 1; i <= 30; i++)
            {
                rules.Append($"-A INPUT -s 10.1.0.{i}/32 -j ACCEPT\n");
            }

            rules.Append("COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n");
            for (var i = 1; i <= 5; i++)
            {
                rules.Append($"-A POSTROUTING -s 10.244.7.{i}/32 -j MASQUERADE\n");
            }

            rules.Append("COMMIT\n");
            var file = Path.Combine(store.Path, "rules.v4");
            await File.WriteAllTextAsync(file, rules.ToString());
            await Run("ip", "netns", "exec", ns, "iptables-restore", file);

            var (exit, stdout, stderr) = await TestProcess.RunAsync("ip", "netns", "exec", ns, "env", "Periscope__Collectors__Cni__RulesThreshold=20",
                binary!, "collect", "--collectors", "cni", "--out", Path.Combine(store.Path, "out"), "--run-id", "netns", "--node", "netns", "--json");

            Assert.True(exit == 1, $"exit {exit}: {stderr}"); // warnings only
            using var output = JsonDocument.Parse(stdout);
            using var reader = BundleReader.Open(File.OpenRead(output.RootElement.GetProperty("bundle").GetString()!));
            var facts = reader.ReadFacts().Cni!;
            Assert.Equal(["eth0", "lo", "vethpod1"], facts.Interfaces.Select(i => i.Name));
            Assert.Equal((1500, 9000), (facts.Interfaces[0].Mtu!.Value, facts.Interfaces[2].Mtu!.Value));
            Assert.Equal("eth0", facts.PrimaryInterface);
            Assert.Contains(facts.Routes, r => r is { Destination: "0.0.0.0/0", Gateway: "10.99.0.1", Interface: "eth0" });
            Assert.Contains(facts.Routes, r => r is { Destination: "10.244.7.0/24", Gateway: null, Interface: "vethpod1" });
            var iptables = facts.Rules.Single(r => r.Tool == "iptables-save");
            Assert.Equal(("ok", 35L, 30L, 5L), (iptables.Outcome, iptables.Total, iptables.Tables["filter"], iptables.Tables["nat"]));

            var findings = reader.ReadFindings().Findings;
            Assert.Equal("vethpod1", Assert.Single(findings, f => f.Code == "CNI_MTU_MISMATCH").Subject.Id);
            Assert.Equal("35", Assert.Single(findings, f => f.Code == "IPTABLES_RULES_EXCESSIVE").Attributes["rules"]);
            Assert.Contains(reader.Manifest.Collectors.Single(c => c.Name == "cni").Commands!, c => c.CommandLine == "iptables-save" && c.Outcome == "ok");
        }
        finally
        {
            await TestProcess.RunAsync("ip", "netns", "delete", ns);
        }
    }

    private static async Task Run(string file, params string[] args)
    {
        var (exit, stdout, stderr) = await TestProcess.RunAsync(file, args);
        Assert.True(exit == 0, $"{file} {string.Join(' ', args)}: {stdout} {stderr}");
    }
}
