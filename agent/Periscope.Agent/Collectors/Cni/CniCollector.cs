using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.Cni.Rules;
using Periscope.Agent.Collection;
using Periscope.Bundle.Facts;
using Periscope.Bundle;

namespace Periscope.Agent.Collectors.Cni;

/// <summary>
/// Pod networking: the CNI configuration directory (the first valid file in lexical order is the active network), the
/// plugin binaries it needs, the network mode it implies, pod address use (host-local's allocation files, Azure CNI's
/// IPAM state), interfaces with their MTU and error counters, routes, and packet-filter rule counts
/// (<c>iptables-save</c>, <c>ip6tables-save</c>, <c>nft list ruleset</c>: numeric output, streamed and counted, never
/// stored). Conntrack belongs to the <c>system</c> collector.
/// </summary>
internal sealed class CniCollector(IOptions<CniCollectorOptions> options) : ICollector
{
    private static readonly (string Tool, string[] Arguments, bool Nft)[] RuleTools =
    [
        ("iptables-save", [], false),
        ("ip6tables-save", [], false),
        ("nft", ["--numeric", "list", "ruleset"], true),
    ];

    private static readonly string[] LegacyTools = ["iptables-legacy-save", "ip6tables-legacy-save"];

    public string Name => "cni"; // bundle folder + config key: never rename

    public string Description => "CNI config and plugins, network mode, pod IP use, interfaces (MTU, errors), routes, iptables/nft rule counts.";

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.DirectoryExists("/sys/class/net") || host.DirectoryExists(options.Value.ConfDirectory)
            ? CollectorSupport.Supported("network interfaces or a CNI config directory are present")
            : CollectorSupport.Unsupported("neither /sys/class/net nor a CNI config directory under the host root");
    }

    public async Task CollectAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var isNode = KubernetesNode.Is(context.Host, o.KubeletConfigPath);

        var configs = await CniConfigs.ReadAsync(context.Host, o.ConfDirectory, cancellationToken);
        foreach (var config in configs)
        {
            await CopyConfigAsync(context, o, config, cancellationToken);
        }

        var active = configs.FirstOrDefault(c => c.Valid);
        string? skipped = isNode ? null : "not a Kubernetes node (no kubelet config or process): a missing CNI config or plugin is not a fault here";
        foreach (var invalid in configs.Where(c => !c.Valid))
        {
            context.Output.Report(CniConfigInvalidRule.Of(context, o.ConfDirectory, invalid.Facts, active?.Facts, isNode));
        }

        Observations.Report(context, CniConfigMissingRule.Check(context, o.ConfDirectory, configs.Count, isNode));

        var plugins = new List<CniPluginFacts>();
        if (active is not null)
        {
            foreach (var type in CniConfigs.RequiredBinaries(active))
            {
                var plugin = FindPlugin(context.Host, o, type);
                plugins.Add(plugin);
                Observations.Report(context, CniPluginMissingRule.Check(context, plugin, active.Facts, o.BinDirectories, isNode));
            }
        }

        var ipam = await ReadIpamAsync(context, o, active, cancellationToken);
        foreach (var range in ipam)
        {
            Observations.Report(context, CniIpExhaustionRule.Check(context, range, o));
        }

        var interfaces = await NodeNetwork.ReadInterfacesAsync(context.Host, cancellationToken);
        var (routes, routeCount) = await ReadRoutesAsync(context, cancellationToken);
        var primary = routes.Where(r => r.Family == "ipv4" && r.Destination == "0.0.0.0/0").OrderBy(r => r.Metric).FirstOrDefault()?.Interface;
        foreach (var mismatch in CniMtuMismatchRule.Check(context, interfaces, primary, active))
        {
            context.Output.Report(mismatch);
        }
        CheckNicErrors(context, o, interfaces);

        var rules = new List<RuleCountFacts>();
        string? iptablesBinary = null;
        foreach (var (tool, arguments, nft) in RuleTools)
        {
            var (facts, binary) = await CountRulesAsync(context, o, tool, arguments, nft, cancellationToken);
            rules.Add(facts);
            iptablesBinary ??= tool == "iptables-save" ? binary : null;
        }

        // iptables has two back ends with separate rule sets: a node whose kube-proxy or CNI programs the legacy one
        // shows nothing to the nft flavour's iptables-save (the agent's image carries it). The legacy flavour is
        // listed too where its tool exists and iptables-save is not already it.
        if (!IsLegacy(iptablesBinary))
        {
            foreach (var tool in LegacyTools)
            {
                var (facts, _) = await CountRulesAsync(context, o, tool, [], false, cancellationToken);
                if (facts.Outcome != "missing-binary")
                {
                    rules.Add(facts);
                }
            }
        }

        Observations.Report(context, IptablesRulesExcessiveRule.Check(context, rules, o));

        context.Output.SetFacts(new CniFacts
        {
            ConfDirectory = o.ConfDirectory,
            ChecksSkipped = skipped,
            Configs = configs.Select(c => c.Facts).ToList(),
            ActiveConfig = active?.Facts.File,
            NetworkMode = active is null ? null : CniConfigs.Mode(active),
            Plugins = plugins,
            Ipam = ipam,
            Interfaces = interfaces,
            PrimaryInterface = primary,
            Routes = routes,
            RouteCount = routeCount,
            Rules = rules,
        });
    }

    private static async Task CopyConfigAsync(CollectionContext context, CniCollectorOptions o, CniConfig config, CancellationToken cancellationToken)
    {
        try
        {
            if (await context.Host.TryReadTextAsync($"{o.ConfDirectory}/{config.Facts.File}", 1024 * 1024, cancellationToken) is { } text)
            {
                await context.Output.WriteTextAsync($"net.d/{config.Facts.File}", text, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // already recorded as the config's error
        }
    }

    private static CniPluginFacts FindPlugin(INodeFileSystem host, CniCollectorOptions o, string type)
    {
        foreach (var directory in o.BinDirectories)
        {
            var path = $"{directory}/{type}";
            if (host.FileExists(path))
            {
                var real = host.Resolve(path);
                var executable = (File.GetUnixFileMode(real) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
                return new CniPluginFacts(type, path, executable);
            }
        }

        return new CniPluginFacts(type, null, false);
    }

    private static async Task<List<IpamRangeFacts>> ReadIpamAsync(CollectionContext context, CniCollectorOptions o, CniConfig? active, CancellationToken cancellationToken)
    {
        var facts = new List<IpamRangeFacts>();
        foreach (var plugin in active?.Plugins ?? [])
        {
            if (plugin is { IpamType: "host-local", Ipam: { } ipam })
            {
                using var document = JsonDocument.Parse(ipam);
                var dataDir = document.RootElement.TryGetProperty("dataDir", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : o.HostLocalDataDirectory;
                facts.AddRange(PodAddressRanges.HostLocal(context.Host, dataDir, active!.Facts.Name!, PodAddressRanges.ParseHostLocal(ipam)));
            }
        }

        foreach (var path in o.AzureIpamStateFiles.Where(context.Host.FileExists))
        {
            try
            {
                var text = await context.Host.TryReadTextAsync(path, 16 * 1024 * 1024, cancellationToken);
                facts.AddRange(PodAddressRanges.AzureState(text ?? "{}"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
            {
                context.Output.MarkPartial($"Azure CNI state {path}: {ex.Message}");
            }
        }

        return facts;
    }

    private static async Task<(List<RouteFacts> Routes, int Count)> ReadRoutesAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        var routes = new List<RouteFacts>();
        foreach (var (path, parse) in new (string, Func<string, IEnumerable<RouteFacts>>)[] { ("/proc/net/route", NodeNetwork.ParseIpv4Routes), ("/proc/net/ipv6_route", NodeNetwork.ParseIpv6Routes) })
        {
            try
            {
                if (await context.Host.TryReadTextAsync(path, 8 * 1024 * 1024, cancellationToken) is { } text)
                {
                    routes.AddRange(parse(text));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                context.Output.MarkPartial($"{path}: {ex.Message}");
            }
        }

        return (routes.Take(NodeNetwork.MaxRoutes).ToList(), routes.Count);
    }

    private static void CheckNicErrors(CollectionContext context, CniCollectorOptions o, IReadOnlyList<InterfaceFacts> interfaces)
    {
        foreach (var nic in interfaces)
        {
            Observations.Report(context, NicErrorsRule.Check(context, nic, o));
        }
    }

    private static bool IsLegacy(string? binary)
    {
        if (binary is null)
        {
            return false;
        }

        try
        {
            var target = File.ResolveLinkTarget(binary, returnFinalTarget: true)?.FullName ?? binary;
            return Path.GetFileName(target).Contains("legacy", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task<(RuleCountFacts Facts, string? Binary)> CountRulesAsync(
        CollectionContext context, CniCollectorOptions o, string tool, string[] arguments, bool nft, CancellationToken cancellationToken)
    {
        if (context.Offline)
        {
            return (new RuleCountFacts(tool, "skipped-offline", new Dictionary<string, long>(), 0), null);
        }

        var counter = new RuleCounter(nft);
        await using var lines = new LineSplitStream(counter.Line);
        var request = new ProcessRequest { FileName = tool, Arguments = arguments, Timeout = o.CommandTimeout, MaxOutputBytes = o.MaxRulesetBytes, OutputTo = lines };
        var result = await context.Commands.RunAsync(request, cancellationToken);
        lines.Flush();
        context.Output.RecordCommand(result.ToRecord(request));
        var outcome = result.Outcome == "ok" && result.ExitCode != 0 ? "failed" : result.Outcome;
        if (outcome is "timed-out" or "output-capped" or "failed")
        {
            context.Output.MarkPartial($"{request.Display}: {outcome} {result.Error.Trim()}".TrimEnd());
        }

        return (new RuleCountFacts(tool, outcome, new Dictionary<string, long>(counter.Tables, StringComparer.Ordinal), counter.Total), result.Binary);
    }
}
