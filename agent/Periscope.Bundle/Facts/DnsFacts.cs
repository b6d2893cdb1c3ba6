using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>The node's resolver configuration and what its name servers answered.</summary>
public sealed record DnsFacts
{
    /// <summary>The host's <c>/etc/resolv.conf</c>.</summary>
    public ResolvConfFacts? ResolvConf { get; init; }

    /// <summary>systemd-resolved's upstream file (<c>/run/systemd/resolve/resolv.conf</c>), when present.</summary>
    public ResolvConfFacts? ResolvedUpstream { get; init; }

    /// <summary>The cluster DNS service addresses (the kubelet's <c>clusterDNS</c>).</summary>
    [JsonRequired]
    public IReadOnlyList<string> ClusterDns { get; init; } = [];

    /// <summary>The cluster domain (the kubelet's <c>clusterDomain</c>; default <c>cluster.local</c>).</summary>
    public string? ClusterDomain { get; init; }

    /// <summary>True when the probes were skipped (an offline run).</summary>
    [JsonRequired]
    public bool Offline { get; init; }

    /// <summary>One record per query sent.</summary>
    [JsonRequired]
    public IReadOnlyList<DnsProbeFacts> Probes { get; init; } = [];
}

/// <summary>A parsed resolv.conf.</summary>
public sealed record ResolvConfFacts
{
    /// <summary>Node path.</summary>
    public required string Path { get; init; }

    /// <summary>Why it could not be read, when it could not.</summary>
    public string? Error { get; init; }

    /// <summary><c>nameserver</c> lines, in order.</summary>
    [JsonRequired]
    public IReadOnlyList<string> Nameservers { get; init; } = [];

    /// <summary>The search list (the last <c>search</c> or <c>domain</c> line).</summary>
    [JsonRequired]
    public IReadOnlyList<string> Search { get; init; } = [];

    /// <summary><c>options ndots:</c> (resolver default 1).</summary>
    [JsonRequired]
    public int Ndots { get; init; } = 1;

    /// <summary><c>options timeout:</c> seconds (resolver default 5).</summary>
    [JsonRequired]
    public int Timeout { get; init; } = 5;

    /// <summary><c>options attempts:</c> (resolver default 2).</summary>
    [JsonRequired]
    public int Attempts { get; init; } = 2;

    /// <summary>Every option as written.</summary>
    [JsonRequired]
    public IReadOnlyList<string> Options { get; init; } = [];
}

/// <summary>One DNS query and its answer.</summary>
public sealed record DnsProbeFacts
{
    /// <summary>The server queried (address, port 53).</summary>
    public required string Server { get; init; }

    /// <summary>Where the server came from: <c>resolv.conf</c>, <c>resolved-upstream</c> or <c>cluster-dns</c>.</summary>
    public required string Role { get; init; }

    /// <summary>The name asked for (type A).</summary>
    public required string Name { get; init; }

    /// <summary><c>answered</c>, <c>timed-out</c> or <c>failed</c> (no usable answer: network error, malformed reply).</summary>
    public required string Outcome { get; init; }

    /// <summary>The response code (<c>NoError</c>, <c>NotExistentDomain</c>, <c>ServerFailure</c>, ...), when answered.</summary>
    public string? Rcode { get; init; }

    /// <summary>Answer records.</summary>
    [JsonRequired]
    public int Answers { get; init; }

    /// <summary>Addresses in the answer.</summary>
    [JsonRequired]
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>True when the UDP answer was truncated (TC bit).</summary>
    [JsonRequired]
    public bool Truncated { get; init; }

    /// <summary>The server that answered, as the client saw it.</summary>
    public string? AnsweredBy { get; init; }

    /// <summary>Wall time of the query.</summary>
    [JsonRequired]
    public double LatencyMs { get; init; }

    /// <summary>Why there was no usable answer.</summary>
    public string? Error { get; init; }
}
