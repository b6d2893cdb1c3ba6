using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collectors.Kubelet.Rules;
using Periscope.Agent.Collection;
using Periscope.Bundle.Facts;
using Periscope.Bundle;
using YamlDotNet.Core;

namespace Periscope.Agent.Collectors.Kubelet;

/// <summary>
/// The kubelet: its process and flags (host /proc), its config file (path from <c>--config</c>, re-rooted), the
/// kubeconfig's API server URL (never credentials), healthz, and the certificates under its pki directory — parsed in
/// memory from their CERTIFICATE blocks only (a kubelet client .pem also holds the private key); no pki file is
/// copied. Its log (journal, or a plain log file) is kept as evidence and matched against the signature table
/// <c>kubelet-rules.json</c>. It owns maxPods, eviction thresholds, cgroupDriver, clusterDNS/clusterDomain and the
/// runtime endpoint.
/// </summary>
internal sealed partial class KubeletCollector(IOptions<KubeletCollectorOptions> options, ILogger<KubeletCollector> logger) : ICollector
{
    private static readonly string[] StartMarkers = ["Started kubelet", "Started Kubernetes Kubelet", "Kubelet version"];
    private readonly ILogger _logger = logger;

    public string Name => "kubelet"; // bundle folder + config key: never rename

    public string Description => "Kubelet process and flags, config, API server URL, healthz, certificate expiry, log signatures, restarts, node labels and version.";

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return KubernetesNode.Evidence(host, options.Value.ConfigPath) is { } evidence
            ? CollectorSupport.Supported(evidence)
            : CollectorSupport.Unsupported($"no kubelet process and no {options.Value.ConfigPath}: not a Kubernetes node");
    }

    public async Task CollectAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var process = KubeletProcess.Find(context.Host);
        if (process is not null)
        {
            await context.Output.WriteTextAsync("cmdline.txt", string.Join('\n', process.SafeArguments()) + "\n", cancellationToken);
        }

        Observations.Report(context, KubeletNotRunningRule.Check(context, process is not null));

        var configPath = process?.Flag("config") ?? o.ConfigPath;
        var (config, configError) = await ReadYamlAsync(context, configPath, "config.yaml", cancellationToken);
        if (configError is not null)
        {
            context.Output.MarkPartial($"kubelet config {configPath}: {configError}");
        }

        var kubeconfigPath = process?.Flag("kubeconfig") ?? o.KubeconfigPaths.FirstOrDefault(context.Host.FileExists);
        string? apiServer = null;
        if (kubeconfigPath is not null)
        {
            // Only the server URL is kept: a kubeconfig may embed client keys and tokens, so the file is not copied.
            var (kubeconfig, error) = await ReadYamlAsync(context, kubeconfigPath, evidence: null, cancellationToken);
            apiServer = KubeletYaml.KubeconfigServer(kubeconfig);
            if (error is not null)
            {
                context.Output.MarkPartial($"kubeconfig {kubeconfigPath}: {error}");
            }
        }

        var healthz = context.Offline || process is null ? null : await ProbeHealthzAsync(o, context.Time, cancellationToken);
        Observations.Report(context, KubeletUnhealthyRule.Check(context, healthz));

        var certificates = await ReadCertificatesAsync(context, o, cancellationToken);
        var signatures = new KubeletLogSignatures(KubeletLogSignatures.Default, context);
        string? loggedVersion = null;
        var journal = await UnitJournal.CollectAsync(context, new UnitJournalRequest
        {
            Unit = "kubelet",
            StartMarkers = StartMarkers,
            MaxBytes = o.JournalMaxBytes,
            MaxEntries = o.JournalMaxEntries,
            FallbackFiles = o.LogFiles,
        }, (entry, line) =>
        {
            signatures.Inspect(entry, line);
            if (entry.Message.Contains("Kubelet version", StringComparison.Ordinal) && VersionPattern().Match(entry.Message) is { Success: true } m)
            {
                loggedVersion = m.Value; // its start-up line: "Kubelet version" kubeletVersion="v1.29.2"
            }
        }, cancellationToken);
        signatures.Report();
        UnitJournal.ReportFrequentStarts(context, "KUBELET_RESTARTS_FREQUENT", "The kubelet", journal.Starts, o.RestartsThreshold, o.RestartsWindow);

        // The binary's own answer, else its latest start-up line.
        // The kubelet's own start-up line first; else the version linked into its binary, read from its bytes. The
        // agent never runs a binary of the host: a hostile one would run as root.
        var version = loggedVersion ?? (process is null ? null : BinaryVersion(context, process));

        context.Output.SetFacts(new KubeletFacts
        {
            Running = process is not null,
            Pid = process?.Pid,
            CommandLine = process?.SafeArguments() ?? [],
            Version = version,
            ConfigPath = configPath,
            ConfigError = configError,
            MaxPods = int.TryParse(KubeletYaml.Scalar(config, "maxPods"), NumberStyles.None, CultureInfo.InvariantCulture, out var maxPods) ? maxPods : null,
            EvictionHard = KubeletYaml.Mapping(config, "evictionHard")?.Children
                .Where(c => c.Key is YamlDotNet.RepresentationModel.YamlScalarNode && c.Value is YamlDotNet.RepresentationModel.YamlScalarNode)
                .ToDictionary(c => ((YamlDotNet.RepresentationModel.YamlScalarNode)c.Key).Value ?? string.Empty, c => ((YamlDotNet.RepresentationModel.YamlScalarNode)c.Value).Value ?? string.Empty, StringComparer.Ordinal),
            CgroupDriver = KubeletYaml.Scalar(config, "cgroupDriver"),
            ClusterDns = KubeletYaml.Strings(config, "clusterDNS"),
            ClusterDomain = KubeletYaml.Scalar(config, "clusterDomain") ?? "cluster.local",
            ContainerRuntimeEndpoint = KubeletYaml.Scalar(config, "containerRuntimeEndpoint") ?? process?.Flag("container-runtime-endpoint"),
            ApiServer = apiServer,
            NodeLabels = process?.NodeLabels(),
            Healthz = healthz,
            Certificates = certificates,
            Log = new KubeletLogFacts(journal.Source, journal.Entries, journal.Problem, new Dictionary<string, long>(signatures.Counts, StringComparer.Ordinal)),
        });
    }

    private static async Task<(YamlDotNet.RepresentationModel.YamlMappingNode? Map, string? Error)> ReadYamlAsync(
        CollectionContext context, string path, string? evidence, CancellationToken cancellationToken)
    {
        string? text;
        try
        {
            text = await context.Host.TryReadTextAsync(path, 1024 * 1024, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, ex.Message);
        }

        if (text is null)
        {
            return (null, "missing");
        }

        if (evidence is not null)
        {
            await context.Output.WriteTextAsync(evidence, text, cancellationToken);
        }

        try
        {
            return (KubeletYaml.Load(text), null);
        }
        catch (YamlException ex)
        {
            return (null, $"not valid YAML: {ex.Message}");
        }
    }

    private async Task<HealthzFacts> ProbeHealthzAsync(KubeletCollectorOptions o, TimeProvider time, CancellationToken cancellationToken)
    {
        var healthz = await KubeletHealthz.ProbeAsync(o, time, cancellationToken);
        if (healthz.Error is { } error)
        {
            LogHealthzFailed(o.HealthzUrl, error);
        }

        return healthz;
    }

    private static async Task<List<CertificateFacts>> ReadCertificatesAsync(CollectionContext context, KubeletCollectorOptions o, CancellationToken cancellationToken)
    {
        var facts = new List<CertificateFacts>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var names = context.Host.ListDirectory(o.PkiDirectory)
            .Where(n => n.EndsWith(".crt", StringComparison.Ordinal) || n.EndsWith(".pem", StringComparison.Ordinal))
            .OrderBy(n => n.Contains("-current", StringComparison.Ordinal) ? 0 : 1) // the name the kubelet uses, before its target
            .ThenBy(n => n, StringComparer.Ordinal);
        foreach (var name in names)
        {
            var path = $"{o.PkiDirectory}/{name}";
            if (!seen.Add(context.Host.Resolve(path)))
            {
                continue; // kubelet-client-current.pem and the file it links to are one certificate
            }

            string? text;
            try
            {
                text = await context.Host.TryReadTextAsync(path, 256 * 1024, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            // Only CERTIFICATE blocks are handed to the parser; a private key block in the same file is never touched.
            foreach (Match block in CertificateBlock().Matches(text ?? string.Empty))
            {
                X509Certificate2 certificate;
                try
                {
                    certificate = X509Certificate2.CreateFromPem(block.Value);
                }
                catch (CryptographicException)
                {
                    continue;
                }

                using (certificate)
                {
                    var fact = new CertificateFacts(path, certificate.Subject, certificate.Issuer,
                        new DateTimeOffset(certificate.NotBefore.ToUniversalTime()), new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));
                    facts.Add(fact);
                    Observations.Report(context, KubeletCertificateRule.Check(context, fact, name, o));
                }
            }
        }

        return facts;
    }

    private static string? BinaryVersion(CollectionContext context, KubeletProcess process)
    {
        var binary = process.Arguments[0].StartsWith('/') ? process.Arguments[0] : "/usr/local/bin/kubelet";
        try
        {
            using var stream = context.Host.OpenRead(binary);
            var value = GoBuildInfo.Read(stream)?.LinkerValue("k8s.io/component-base/version.gitVersion");
            return value is not null && VersionPattern().Match(value) is { Success: true } m && m.Index == 0 ? m.Value : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // no binary at that path under the host root: the version stays unknown
        }
    }

    [GeneratedRegex("-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]+?-----END CERTIFICATE-----", RegexOptions.CultureInvariant)]
    private static partial Regex CertificateBlock();

    [GeneratedRegex("v[0-9]+\\.[0-9]+\\.[0-9]+[0-9A-Za-z.+-]*", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();

    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Kubelet healthz {Url} did not answer: {Reason}")]
    private partial void LogHealthzFailed(string url, string reason);
}
