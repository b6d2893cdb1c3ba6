using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Net;
using DnsClient;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Dns.Rules;
using Periscope.Bundle.Facts;
using Periscope.Bundle;
using YamlDotNet.Core;

namespace Periscope.Agent.Collectors.Dns;

/// <summary>
/// Name resolution from this node: the host's resolv.conf and systemd-resolved's upstream file, the cluster DNS
/// service from the kubelet's config (read here: collectors are independent), and real queries through DnsClient to
/// every server — the cluster API name of cluster DNS, and an external name of every server — each with its own
/// deadline and no retries, all servers at once. Only the servers named in those files are ever asked; nothing asks
/// the agent's own resolver, and nothing does reverse lookups. An offline run reads the files and sends no query.
/// </summary>
internal sealed partial class DnsCollector(IOptions<DnsCollectorOptions> options, ILogger<DnsCollector> logger) : ICollector
{
    /// <summary>The kubelet refuses more search domains than this for pods (validation.MaxDNSSearchPaths).</summary>
    public const int MaxSearchDomains = 32;

    /// <summary>The kubelet refuses a longer search line than this (validation.MaxDNSSearchListChars).</summary>
    public const int MaxSearchChars = 2048;

    /// <summary>glibc uses only the first this many nameservers (MAXNS).</summary>
    public const int MaxNameservers = 3;

    private readonly ILogger _logger = logger;

    public string Name => "dns"; // bundle folder + config key: never rename

    public string Description => "resolv.conf and systemd-resolved upstreams, cluster DNS from the kubelet config, timed queries to every name server.";

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.DirectoryExists("/etc")
            ? CollectorSupport.Supported("the host root has /etc")
            : CollectorSupport.Unsupported("the host root has no /etc");
    }

    public async Task CollectAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var resolv = await ReadResolvConfAsync(context, o.ResolvConfPath, "resolv.conf", cancellationToken);
        var upstream = context.Host.FileExists(o.ResolvedUpstreamPath)
            ? await ReadResolvConfAsync(context, o.ResolvedUpstreamPath, "resolved-upstream.conf", cancellationToken)
            : null;
        var cluster = await ReadClusterDnsAsync(context, o, cancellationToken);

        // The file the kubelet hands to pods: its resolvConf setting, else /etc/resolv.conf.
        var podBase = cluster.ResolvConf == upstream?.Path ? upstream : cluster.ResolvConf == resolv.Path ? resolv : null;
        podBase ??= cluster.ResolvConf is { } other ? await ReadResolvConfAsync(context, other, "kubelet-resolv.conf", cancellationToken) : resolv;
        Observations.Report(context, DnsSearchLimitsRule.Check(context, podBase));
        Observations.Report(context, DnsNdotsAmplificationRule.Check(context, podBase, cluster.Servers.Count));

        var servers = Servers(resolv, upstream, cluster.Servers).Take(o.MaxServers).ToList();
        Observations.Report(context, DnsNoNameserversRule.Check(context, resolv, servers.Count));

        var probes = new List<DnsProbeFacts>();
        if (!context.Offline && servers.Count > 0)
        {
            var results = await Task.WhenAll(servers.Select(s => ProbeServerAsync(context, o, s, cluster.Domain, cancellationToken)));
            foreach (var (server, serverProbes) in servers.Zip(results))
            {
                probes.AddRange(serverProbes);
                Evaluate(context, o, serverProbes);
            }
        }

        context.Output.SetFacts(new DnsFacts
        {
            ResolvConf = resolv,
            ResolvedUpstream = upstream,
            ClusterDns = cluster.Servers,
            ClusterDomain = cluster.Domain,
            Offline = context.Offline,
            Probes = probes,
        });
    }

    private static async Task<ResolvConfFacts> ReadResolvConfAsync(CollectionContext context, string path, string evidence, CancellationToken cancellationToken)
    {
        string? text;
        try
        {
            text = await context.Host.TryReadTextAsync(path, 256 * 1024, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new ResolvConfFacts { Path = path, Error = ex.Message };
        }

        if (text is null)
        {
            return new ResolvConfFacts { Path = path, Error = "missing" };
        }

        await context.Output.WriteTextAsync(evidence, text, cancellationToken);
        return ResolvConf.Parse(path, text);
    }

    private sealed record ClusterDns(IReadOnlyList<string> Servers, string Domain, string? ResolvConf);

    /// <summary>clusterDNS, clusterDomain and resolvConf from the kubelet's config file, else its flags.</summary>
    private static async Task<ClusterDns> ReadClusterDnsAsync(CollectionContext context, DnsCollectorOptions o, CancellationToken cancellationToken)
    {
        var process = KubeletProcess.Find(context.Host);
        var path = process?.Flag("config") ?? o.KubeletConfigPath;
        YamlDotNet.RepresentationModel.YamlMappingNode? config = null;
        try
        {
            if (await context.Host.TryReadTextAsync(path, 1024 * 1024, cancellationToken) is { } text)
            {
                config = KubeletYaml.Load(text);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or YamlException)
        {
            context.Output.MarkPartial($"kubelet config {path}: {ex.Message}");
        }

        var servers = KubeletYaml.Strings(config, "clusterDNS");
        if (servers.Count == 0 && process?.Flag("cluster-dns") is { } flag)
        {
            servers = flag.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        var domain = KubeletYaml.Scalar(config, "clusterDomain") ?? process?.Flag("cluster-domain") ?? "cluster.local";
        var resolvConf = KubeletYaml.Scalar(config, "resolvConf") ?? process?.Flag("resolv-conf");
        return new ClusterDns(servers, domain.TrimEnd('.'), string.IsNullOrEmpty(resolvConf) ? null : resolvConf);
    }

    private sealed record Server(string Address, string Role);

    /// <summary>resolv.conf's servers, resolved's upstreams, then cluster DNS, each once (as cluster DNS when it is also that).</summary>
    private static List<Server> Servers(ResolvConfFacts resolv, ResolvConfFacts? upstream, IReadOnlyList<string> cluster)
    {
        var servers = new List<Server>();
        var candidates = resolv.Nameservers.Select(a => new Server(a, "resolv.conf"))
            .Concat((upstream?.Nameservers ?? []).Select(a => new Server(a, "resolved-upstream")))
            .Concat(cluster.Select(a => new Server(a, "cluster-dns")));
        foreach (var candidate in candidates)
        {
            var index = servers.FindIndex(s => s.Address == candidate.Address);
            if (index < 0)
            {
                servers.Add(candidate);
            }
            else if (candidate.Role == "cluster-dns")
            {
                servers[index] = candidate;
            }
        }

        return servers;
    }

    private async Task<List<DnsProbeFacts>> ProbeServerAsync(
        CollectionContext context, DnsCollectorOptions o, Server server, string clusterDomain, CancellationToken cancellationToken)
    {
        List<string> names = server.Role == "cluster-dns" ? [$"kubernetes.default.svc.{clusterDomain}.", Fqdn(o.ExternalName)] : [Fqdn(o.ExternalName)];
        var probes = new List<DnsProbeFacts>();
        if (!IPAddress.TryParse(server.Address, out var address))
        {
            probes.Add(new DnsProbeFacts { Server = server.Address, Role = server.Role, Name = names[0], Outcome = "failed", Error = "not an IP address" });
            return probes;
        }

        var client = new LookupClient(new LookupClientOptions(new NameServer(address, 53))
        {
            Timeout = o.QueryTimeout,
            Retries = 0,
            UseCache = false,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
            UseRandomNameServer = false,
            UseTcpFallback = true,
            Recursion = true,
        });
        // A server's questions go out together, so a server that does not answer costs one query deadline, not two.
        probes.AddRange(await Task.WhenAll(names.Select(name => QueryAsync(client, o, server, name, context.Time, cancellationToken))));
        return probes;
    }

    private async Task<DnsProbeFacts> QueryAsync(LookupClient client, DnsCollectorOptions o, Server server, string name, TimeProvider time, CancellationToken cancellationToken)
    {
        var probe = new DnsProbeFacts { Server = server.Address, Role = server.Role, Name = name, Outcome = "failed" };
        var started = time.GetTimestamp();
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        guard.CancelAfter(o.QueryTimeout + TimeSpan.FromSeconds(1)); // the library's own timeout first; this one if it ever hangs
        try
        {
            var response = await client.QueryAsync(name, QueryType.A, QueryClass.IN, guard.Token);
            var addresses = response.Answers.ARecords().Select(a => a.Address.ToString()).ToList();
            return probe with
            {
                Outcome = "answered",
                Rcode = response.Header.ResponseCode.ToString(),
                Answers = response.Answers.Count,
                Addresses = addresses,
                Truncated = response.Header.ResultTruncated,
                AnsweredBy = response.NameServer?.ToString(),
                LatencyMs = time.GetElapsedTime(started).TotalMilliseconds,
            };
        }
        catch (DnsResponseException ex) when (ex.Code == DnsResponseCode.ConnectionTimeout)
        {
            return probe with { Outcome = "timed-out", LatencyMs = time.GetElapsedTime(started).TotalMilliseconds, Error = $"no answer within {o.QueryTimeout.TotalMilliseconds:0} ms" };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return probe with { Outcome = "timed-out", LatencyMs = time.GetElapsedTime(started).TotalMilliseconds, Error = $"no answer within {o.QueryTimeout.TotalMilliseconds:0} ms" };
        }
        catch (Exception ex) when (ex is DnsResponseException or SocketException or IOException or ArgumentException or InvalidOperationException)
        {
            LogQueryFailed(server.Address, name, ex.Message);
            return probe with { LatencyMs = time.GetElapsedTime(started).TotalMilliseconds, Error = ex.Message };
        }
    }

    private static void Evaluate(CollectionContext context, DnsCollectorOptions o, IReadOnlyList<DnsProbeFacts> probes)
    {
        Observations.Report(context, DnsTimeoutRule.Check(context, probes, o));
        Observations.Report(context, DnsServfailRule.Check(context, probes));
        Observations.Report(context, DnsClusterNameFailsRule.Check(context, probes));
        foreach (var slow in DnsSlowRule.Check(context, probes, o))
        {
            context.Output.Report(slow);
        }
    }



    private static string Fqdn(string name) => name.EndsWith('.') ? name : name + ".";

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "DNS query to {Server} for {Name} failed: {Reason}")]
    private partial void LogQueryFailed(string server, string name, string reason);
}
