using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection.Node;
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
        var now = context.Time.GetUtcNow();
        var node = new FindingSubject(SubjectKind.Node, context.NodeName);
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
            context.Output.Report(new Observation
            {
                Code = "CNI_CONFIG_INVALID",
                Severity = active is null && isNode ? Severity.Critical : Severity.Warning,
                Title = $"CNI config {invalid.Facts.File} is not valid",
                Detail = active is null
                    ? $"{invalid.Facts.Error}. No valid CNI config is left: the runtime reports NetworkReady=false and no pod can get a network."
                    : $"{invalid.Facts.Error}. The runtime skips it; the active network is {active.Facts.File}.",
                Subject = new FindingSubject(SubjectKind.File, $"{o.ConfDirectory}/{invalid.Facts.File}"),
                Attributes = new Dictionary<string, string> { ["error"] = invalid.Facts.Error ?? string.Empty },
                Time = now,
            });
        }

        if (configs.Count == 0 && isNode)
        {
            context.Output.Report(new Observation
            {
                Code = "CNI_CONFIG_MISSING",
                Severity = Severity.Critical,
                Title = $"No CNI config in {o.ConfDirectory}",
                Detail = "Without a network configuration the runtime reports NetworkReady=false, the node stays NotReady and no pod can start.",
                Subject = new FindingSubject(SubjectKind.File, o.ConfDirectory),
                Time = now,
            });
        }

        var plugins = new List<CniPluginFacts>();
        if (active is not null)
        {
            foreach (var type in CniConfigs.RequiredBinaries(active))
            {
                var plugin = FindPlugin(context.Host, o, type);
                plugins.Add(plugin);
                if (isNode && (plugin.Path is null || !plugin.Executable))
                {
                    context.Output.Report(new Observation
                    {
                        Code = "CNI_PLUGIN_MISSING",
                        Severity = Severity.Critical,
                        Title = plugin.Path is null ? $"CNI plugin {type} is missing" : $"CNI plugin {type} is not executable",
                        Detail = $"The active network {active.Facts.Name} ({active.Facts.File}) needs {type}; looked in {string.Join(", ", o.BinDirectories)}. Every pod sandbox fails to start.",
                        Subject = new FindingSubject(SubjectKind.File, plugin.Path ?? $"{o.BinDirectories.FirstOrDefault()}/{type}"),
                        Attributes = new Dictionary<string, string> { ["plugin"] = type, ["config"] = active.Facts.File },
                        Time = now,
                    });
                }
            }
        }

        var ipam = await ReadIpamAsync(context, o, active, cancellationToken);
        foreach (var range in ipam.Where(r => r.Usable > 0))
        {
            var percent = 100.0 * range.Allocated / range.Usable;
            if (percent < o.IpExhaustionWarningPercent)
            {
                continue;
            }

            var full = range.Allocated >= range.Usable;
            context.Output.Report(new Observation
            {
                Code = "CNI_IP_EXHAUSTION",
                Severity = full ? Severity.Critical : Severity.Warning,
                Title = full ? $"Pod range {range.Range} is full" : $"Pod range {range.Range} is {percent:0} % allocated",
                Detail = $"{range.Allocated} of {range.Usable} usable addresses allocated ({range.Source}, network {range.Network}). " +
                         (full ? "New pods on this node fail with 'no IP addresses available'." : "New pods will soon fail to get an address."),
                Subject = new FindingSubject(SubjectKind.Node, $"{context.NodeName}/{range.Range}"),
                Attributes = new Dictionary<string, string>
                {
                    ["source"] = range.Source,
                    ["network"] = range.Network,
                    ["allocated"] = range.Allocated.ToString(CultureInfo.InvariantCulture),
                    ["usable"] = range.Usable.ToString(CultureInfo.InvariantCulture),
                },
                Time = now,
            });
        }

        var interfaces = await NodeNetwork.ReadInterfacesAsync(context.Host, cancellationToken);
        var (routes, routeCount) = await ReadRoutesAsync(context, cancellationToken);
        var primary = routes.Where(r => r.Family == "ipv4" && r.Destination == "0.0.0.0/0").OrderBy(r => r.Metric).FirstOrDefault()?.Interface;
        CheckMtu(context, interfaces, primary, active, now);
        CheckNicErrors(context, o, interfaces, now);

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

        var iptables = rules.Where(r => r.Tool != "nft" && r.Outcome is "ok" or "output-capped").ToList();
        var total = iptables.Count > 0 ? iptables.Sum(r => r.Total) : rules.Where(r => r.Tool == "nft").Sum(r => r.Total);
        if (total > o.RulesThreshold)
        {
            context.Output.Report(new Observation
            {
                Code = "IPTABLES_RULES_EXCESSIVE",
                Severity = Severity.Warning,
                Title = $"{total:N0} packet-filter rules on the node",
                Detail = $"More than {o.RulesThreshold:N0} rules ({string.Join(", ", rules.Where(r => r.Total > 0).Select(r => $"{r.Tool}: {r.Total:N0}"))}): rule updates by kube-proxy take seconds and packet processing slows.",
                Subject = node,
                Attributes = new Dictionary<string, string> { ["rules"] = total.ToString(CultureInfo.InvariantCulture) },
                Time = now,
            });
        }

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

    /// <summary>
    /// CNI_MTU_MISMATCH: an interface carrying pod traffic, or the active config's <c>mtu</c>, larger than the primary
    /// interface's MTU (tunnels need 50 bytes of room for their headers): large packets are dropped or fragmented.
    /// </summary>
    private static void CheckMtu(CollectionContext context, IReadOnlyList<InterfaceFacts> interfaces, string? primaryName, CniConfig? active, DateTimeOffset now)
    {
        const int TunnelOverhead = 50;
        if (interfaces.FirstOrDefault(i => i.Name == primaryName) is not { Mtu: { } primary })
        {
            return;
        }

        var offenders = interfaces
            .Where(i => i.Mtu is { } mtu && NodeNetwork.CarriesPods(i.Name) && mtu > (NodeNetwork.IsTunnel(i.Name) ? primary - TunnelOverhead : primary))
            .Select(i => (Name: i.Name, Mtu: i.Mtu!.Value, Source: "interface"))
            .ToList();
        offenders.AddRange((active?.Plugins ?? []).Where(p => p.Mtu > primary).Select(p => (Name: $"{active!.Facts.File}:{p.Type}", Mtu: p.Mtu!.Value, Source: "config")));
        foreach (var (name, mtu, source) in offenders)
        {
            context.Output.Report(new Observation
            {
                Code = "CNI_MTU_MISMATCH",
                Severity = Severity.Warning,
                Title = $"{name} has MTU {mtu}, above the primary interface {primaryName}'s {primary}",
                Detail = $"Pod packets larger than the path allows are dropped or fragmented: connections hang on large transfers (TLS handshakes, image pulls) while small requests work.",
                Subject = new FindingSubject(source == "interface" ? SubjectKind.Interface : SubjectKind.File, name),
                Attributes = new Dictionary<string, string>
                {
                    ["mtu"] = mtu.ToString(CultureInfo.InvariantCulture),
                    ["primaryInterface"] = primaryName!,
                    ["primaryMtu"] = primary.ToString(CultureInfo.InvariantCulture),
                },
                Time = now,
            });
        }
    }

    private static void CheckNicErrors(CollectionContext context, CniCollectorOptions o, IReadOnlyList<InterfaceFacts> interfaces, DateTimeOffset now)
    {
        foreach (var nic in interfaces.Where(i => i.Name != "lo"))
        {
            var packets = nic.RxPackets + nic.TxPackets;
            var bad = nic.RxErrors + nic.TxErrors + nic.RxDropped + nic.TxDropped;
            if (packets < o.NicMinPackets || bad <= packets * o.NicErrorRatio)
            {
                continue;
            }

            context.Output.Report(new Observation
            {
                Code = "NIC_ERRORS",
                Severity = Severity.Warning,
                Title = $"{nic.Name}: {100.0 * bad / packets:0.##} % of packets had errors or were dropped",
                Detail = $"rx errors {nic.RxErrors}, tx errors {nic.TxErrors}, rx dropped {nic.RxDropped}, tx dropped {nic.TxDropped} of {packets} packets since the interface came up.",
                Subject = new FindingSubject(SubjectKind.Interface, nic.Name),
                Attributes = new Dictionary<string, string>
                {
                    ["errors"] = (nic.RxErrors + nic.TxErrors).ToString(CultureInfo.InvariantCulture),
                    ["dropped"] = (nic.RxDropped + nic.TxDropped).ToString(CultureInfo.InvariantCulture),
                    ["packets"] = packets.ToString(CultureInfo.InvariantCulture),
                },
                Time = now,
            });
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
