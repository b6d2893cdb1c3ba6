using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Net;
using DnsClient;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collection;
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
        CheckLimits(context, podBase);
        CheckNdots(context, podBase, cluster);

        var servers = Servers(resolv, upstream, cluster.Servers).Take(o.MaxServers).ToList();
        if (servers.Count == 0)
        {
            context.Output.Report(new Observation
            {
                Code = "DNS_NO_NAMESERVERS",
                Severity = Severity.Critical,
                Title = resolv.Error is null ? $"{resolv.Path} names no name server" : $"{resolv.Path} cannot be read",
                Detail = resolv.Error ?? "Without a nameserver line the node's resolver has nowhere to send queries: image pulls and pods using the node's DNS fail.",
                Subject = new FindingSubject(SubjectKind.File, resolv.Path),
                Time = context.Time.GetUtcNow(),
            });
        }

        var probes = new List<DnsProbeFacts>();
        if (!context.Offline && servers.Count > 0)
        {
            var results = await Task.WhenAll(servers.Select(s => ProbeServerAsync(context, o, s, cluster.Domain, cancellationToken)));
            foreach (var (server, serverProbes) in servers.Zip(results))
            {
                probes.AddRange(serverProbes);
                Evaluate(context, o, server, serverProbes);
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

    private static void Evaluate(CollectionContext context, DnsCollectorOptions o, Server server, IReadOnlyList<DnsProbeFacts> probes)
    {
        var subject = new FindingSubject(SubjectKind.Server, server.Address);
        var now = context.Time.GetUtcNow();
        var timedOut = probes.Where(p => p.Outcome == "timed-out").ToList();
        if (timedOut.Count > 0)
        {
            var all = timedOut.Count == probes.Count;
            Report(context, "DNS_TIMEOUT", all ? Severity.Critical : Severity.Warning, subject, server, timedOut[0], now,
                all ? $"Name server {server.Address} does not answer" : $"Name server {server.Address} does not answer for {timedOut[0].Name}",
                $"{timedOut.Count} of {probes.Count} queries got no answer within {o.QueryTimeout.TotalMilliseconds:0} ms ({string.Join(", ", timedOut.Select(p => p.Name))}).");
        }

        var failed = probes.Where(p => p.Rcode == nameof(DnsResponseCode.ServerFailure)).ToList();
        if (failed.Count > 0)
        {
            var all = failed.Count == probes.Count;
            Report(context, "DNS_SERVFAIL", all ? Severity.Critical : Severity.Warning, subject, server, failed[0], now,
                $"Name server {server.Address} answers SERVFAIL",
                $"{failed.Count} of {probes.Count} queries answered SERVFAIL ({string.Join(", ", failed.Select(p => p.Name))}): the server cannot resolve them, typically because its own upstream fails.");
        }

        if (server.Role == "cluster-dns" && probes.Count > 0 && probes[0] is { Outcome: "answered" } clusterName
            && clusterName.Rcode != nameof(DnsResponseCode.ServerFailure)
            && (clusterName.Rcode != nameof(DnsResponseCode.NoError) || clusterName.Addresses.Count == 0))
        {
            Report(context, "DNS_CLUSTER_NAME_FAILS", Severity.Critical, subject, server, clusterName, now,
                $"Cluster DNS {server.Address} cannot resolve {clusterName.Name.TrimEnd('.')}",
                $"Answered {clusterName.Rcode} with {clusterName.Addresses.Count} addresses: pods cannot resolve cluster services through it (wrong clusterDomain, CoreDNS not serving the zone, or another server at this address).");
        }

        foreach (var slow in probes.Where(p => p.Outcome == "answered" && p.LatencyMs > o.SlowThreshold.TotalMilliseconds))
        {
            Report(context, "DNS_SLOW", Severity.Warning, subject, server, slow, now,
                $"Name server {server.Address} took {slow.LatencyMs:0} ms to answer",
                $"{slow.Name} answered in {slow.LatencyMs:0} ms (threshold {o.SlowThreshold.TotalMilliseconds:0} ms).");
        }
    }

    private static void Report(CollectionContext context, string code, Severity severity, FindingSubject subject, Server server, DnsProbeFacts probe, DateTimeOffset now, string title, string detail)
    {
        context.Output.Report(new Observation
        {
            Code = code,
            Severity = severity,
            Title = title,
            Detail = detail,
            Subject = subject,
            Attributes = new Dictionary<string, string>
            {
                ["role"] = server.Role,
                ["name"] = probe.Name,
                ["outcome"] = probe.Outcome,
                ["rcode"] = probe.Rcode ?? string.Empty,
                ["latencyMs"] = probe.LatencyMs.ToString("0", CultureInfo.InvariantCulture),
            },
            Time = now,
        });
    }

    /// <summary>DNS_SEARCH_LIMITS on the file the kubelet builds pods' resolv.conf from.</summary>
    private static void CheckLimits(CollectionContext context, ResolvConfFacts file)
    {
        var searchChars = file.Search.Sum(s => s.Length) + Math.Max(0, file.Search.Count - 1);
        var problems = new List<string>();
        if (file.Search.Count > MaxSearchDomains)
        {
            problems.Add($"{file.Search.Count} search domains (the kubelet allows {MaxSearchDomains})");
        }

        if (searchChars > MaxSearchChars)
        {
            problems.Add($"a search line of {searchChars} characters (the kubelet allows {MaxSearchChars})");
        }

        if (file.Nameservers.Count > MaxNameservers)
        {
            problems.Add($"{file.Nameservers.Count} nameservers (the resolver uses only the first {MaxNameservers}: {string.Join(", ", file.Nameservers.Take(MaxNameservers))})");
        }

        if (problems.Count == 0)
        {
            return;
        }

        context.Output.Report(new Observation
        {
            Code = "DNS_SEARCH_LIMITS",
            Severity = Severity.Warning,
            Title = $"{file.Path} exceeds resolver limits",
            Detail = string.Join("; ", problems) + ". The kubelet trims the list for pods and logs a warning on every pod start.",
            Subject = new FindingSubject(SubjectKind.File, file.Path),
            Attributes = new Dictionary<string, string>
            {
                ["searchDomains"] = file.Search.Count.ToString(CultureInfo.InvariantCulture),
                ["searchChars"] = searchChars.ToString(CultureInfo.InvariantCulture),
                ["nameservers"] = file.Nameservers.Count.ToString(CultureInfo.InvariantCulture),
            },
            Time = context.Time.GetUtcNow(),
        });
    }

    /// <summary>
    /// DNS_NDOTS_AMPLIFICATION (informational): pods get <c>ndots:5</c> and the cluster's three search domains before
    /// the host's, so a name with fewer than 5 dots is tried with every search domain first.
    /// </summary>
    private static void CheckNdots(CollectionContext context, ResolvConfFacts file, ClusterDns cluster)
    {
        const int PodNdots = 5;
        if (cluster.Servers.Count == 0)
        {
            return; // not a Kubernetes node: no pod resolv.conf is built from this file
        }

        var search = 3 + file.Search.Count;
        var perName = search + 1;
        context.Output.Report(new Observation
        {
            Code = "DNS_NDOTS_AMPLIFICATION",
            Severity = Severity.Info,
            Title = $"Each external name a pod resolves costs up to {perName} lookups",
            Detail = $"Pods get ndots:{PodNdots} and {search} search domains (3 of the cluster, {file.Search.Count} from {file.Path}): a name with fewer than {PodNdots} dots is tried with each search domain before itself, A and AAAA each. A trailing dot, or dnsConfig ndots:1 for pods that mostly resolve external names, avoids it.",
            Subject = new FindingSubject(SubjectKind.File, file.Path),
            Attributes = new Dictionary<string, string>
            {
                ["ndots"] = PodNdots.ToString(CultureInfo.InvariantCulture),
                ["searchDomains"] = search.ToString(CultureInfo.InvariantCulture),
                ["lookupsPerName"] = perName.ToString(CultureInfo.InvariantCulture),
            },
            Time = context.Time.GetUtcNow(),
        });
    }

    private static string Fqdn(string name) => name.EndsWith('.') ? name : name + ".";

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "DNS query to {Server} for {Name} failed: {Reason}")]
    private partial void LogQueryFailed(string server, string name, string reason);
}
