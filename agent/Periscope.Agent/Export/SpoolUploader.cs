using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Bundle;

namespace Periscope.Agent.Export;

/// <summary>What one spool pass did.</summary>
/// <param name="Uploaded">Bundles uploaded (this run's and any left by earlier runs).</param>
/// <param name="Pending">Sealed bundles still waiting for upload.</param>
/// <param name="Evicted">Bundles deleted for the spool's cap or retention.</param>
/// <param name="Results">The upload result of each bundle tried, by store path of its zip.</param>
internal sealed record SpoolPass(int Uploaded, int Pending, int Evicted, IReadOnlyDictionary<string, UploadResult> Results);

/// <summary>
/// The local store as a durable spool: every sealed bundle (a zip with its status record) that has no upload marker
/// (<c>&lt;runId&gt;/.&lt;node&gt;.uploaded</c>) is pending, oldest first, so a bundle sealed before a crash, a
/// restart or a storage outage is sent by the next pass. Each is tried a few times with exponential backoff and
/// jitter; refusals that a retry cannot fix are not retried. Then the cap and the retention are enforced, oldest
/// bundle first, each eviction logged and counted.
/// </summary>
internal sealed partial class SpoolUploader(BlobBundleExporter exporter, IOptions<SpoolOptions> options, TimeProvider time, ILogger<SpoolUploader> logger)
{
    public const string UploadedSuffix = ".uploaded";
    private readonly ILogger _logger = logger;

    public bool Enabled => exporter.Enabled;

    public async Task<SpoolPass> RunAsync(string store, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var results = new Dictionary<string, UploadResult>(StringComparer.Ordinal);
        var uploaded = 0;
        foreach (var bundle in Sealed(store).Where(b => !b.Uploaded).OrderBy(b => b.Time))
        {
            var result = await UploadWithRetriesAsync(bundle, o, cancellationToken);
            results[bundle.Zip] = result;
            if (result.Succeeded || result.AlreadyUploaded)
            {
                await File.WriteAllTextAsync(bundle.Marker, UtcTimestampConverter.Format(time.GetUtcNow()) + "\n", cancellationToken);
                uploaded += result.Succeeded ? 1 : 0;
            }
        }

        var evicted = Evict(store, o);
        return new SpoolPass(uploaded, Sealed(store).Count(b => !b.Uploaded), evicted, results);
    }

    private async Task<UploadResult> UploadWithRetriesAsync(SpooledBundle bundle, SpoolOptions o, CancellationToken cancellationToken)
    {
        UploadResult result = new(false, null, "not tried");
        var backoff = o.InitialBackoff;
        for (var attempt = 1; attempt <= o.UploadAttempts; attempt++)
        {
            result = await exporter.UploadAsync(bundle.RunId, bundle.Node, bundle.Zip, bundle.Status, cancellationToken);
            if (result.Succeeded || result.Permanent || attempt == o.UploadAttempts)
            {
                break;
            }

            var wait = backoff * (0.5 + Random.Shared.NextDouble()); // ±50 % jitter: nodes retrying together spread out
            LogRetry(bundle.Zip, attempt, wait.TotalSeconds, result.Error ?? string.Empty);
            await Task.Delay(wait, time, cancellationToken);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, o.MaxBackoff.Ticks));
        }

        return result;
    }

    /// <summary>Deletes bundles past the retention, then the oldest until the spool is under its cap.</summary>
    private int Evict(string store, SpoolOptions o)
    {
        var now = time.GetUtcNow();
        var bundles = Sealed(store).OrderBy(b => b.Time).ToList();
        var total = bundles.Sum(b => b.Bytes);
        var evicted = 0;
        foreach (var bundle in bundles)
        {
            var expired = now - bundle.Time > o.Retention;
            if (!expired && total <= o.MaxBytes)
            {
                continue;
            }

            foreach (var path in new[] { bundle.Status, bundle.Zip, bundle.Marker }) // the status record first: never a status without its zip
            {
                File.Delete(path);
            }

            File.Delete(Path.Combine(store, StoreLayout.StartedPath(bundle.RunId, bundle.Node)));

            total -= bundle.Bytes;
            evicted++;
            LogEvicted(bundle.Zip, expired ? $"older than the retention of {o.Retention}" : $"the spool is over its cap of {o.MaxBytes} bytes", bundle.Uploaded);
        }

        return evicted;
    }

    private sealed record SpooledBundle(string RunId, string Node, string Zip, string Status, string Marker, DateTimeOffset Time, long Bytes)
    {
        public bool Uploaded => File.Exists(Marker);
    }

    /// <summary>Sealed bundles of the store: zips whose status record exists.</summary>
    private static List<SpooledBundle> Sealed(string store)
    {
        var bundles = new List<SpooledBundle>();
        store = Path.GetFullPath(store);
        if (!Directory.Exists(store))
        {
            return bundles;
        }

        foreach (var runDirectory in Directory.EnumerateDirectories(store))
        {
            var runId = Path.GetFileName(runDirectory);
            if (!RunId.IsValid(runId))
            {
                continue;
            }

            foreach (var status in Directory.EnumerateFiles(runDirectory, "*" + StoreLayout.StatusSuffix))
            {
                if (!StoreLayout.TryParseFileName(Path.GetFileName(status), out var node, out var isStatus) || !isStatus)
                {
                    continue;
                }

                var zip = Path.Combine(runDirectory, node + StoreLayout.BundleSuffix);
                if (!File.Exists(zip))
                {
                    continue;
                }

                var info = new FileInfo(status);
                bundles.Add(new SpooledBundle(runId, node, zip, status, Path.Combine(runDirectory, "." + node + UploadedSuffix),
                    new DateTimeOffset(info.LastWriteTimeUtc), info.Length + new FileInfo(zip).Length));
            }
        }

        return bundles;
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Upload of {Bundle} failed (try {Attempt}); trying again in {Seconds:0.#} s: {Reason}")]
    private partial void LogRetry(string bundle, int attempt, double seconds, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Spool evicted {Bundle}: {Reason} (uploaded: {Uploaded})")]
    private partial void LogEvicted(string bundle, string reason, bool uploaded);
}
