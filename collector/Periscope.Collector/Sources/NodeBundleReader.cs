using System.Text.Json;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Collector.Sources;

/// <summary>
/// Turns what a store holds for one node — its status record's bytes and a way to open its zip — into a
/// <see cref="NodeBundle"/>: verified and read, or rejected with the reason. Shared by every source, so a directory
/// and Blob Storage judge a bundle the same way.
/// </summary>
internal static class NodeBundleReader
{
    public const long MaxStatusSize = 1024 * 1024;

    /// <param name="runId">The run the bundle is stored in.</param>
    /// <param name="node">The node it is stored as.</param>
    /// <param name="zipExists">Whether the zip is there.</param>
    /// <param name="status">The status record's bytes, or null when there is none.</param>
    /// <param name="receivedAt">When the store received the status record, by the store's clock.</param>
    /// <param name="openZip">Opens the zip as a seekable stream (only its directory and JSON entries are read).</param>
    /// <param name="limits">Reader limits.</param>
    public static NodeBundle Read(string runId, string node, bool zipExists, byte[]? status, DateTimeOffset? receivedAt, Func<Stream> openZip, BundleLimits? limits)
    {
        ArgumentNullException.ThrowIfNull(openZip);
        var path = StoreLayout.BundlePath(runId, node);
        if (!zipExists)
        {
            return new NodeBundle { Node = node, BundlePath = path, Rejected = "status record without its bundle" };
        }

        if (status is null)
        {
            return new NodeBundle { Node = node, BundlePath = path, Incomplete = true, Rejected = "no status record: the bundle is incomplete (still being written, or its writer stopped)" };
        }

        if (!TryParseStatus(status, out var record, out var statusProblem))
        {
            return new NodeBundle { Node = node, BundlePath = path, Rejected = statusProblem };
        }

        var problems = new List<string>();
        CheckStatusMatches(record!, runId, node, problems);
        if (problems.Count > 0)
        {
            return new NodeBundle { Node = node, BundlePath = path, Status = record, Rejected = problems[0] };
        }

        long? length = null;
        try
        {
            // The zip must be the one its status record describes: its size is checked (cheap on every store), after
            // its documents so that a more telling reason comes first; its whole sha256 is verify's (report reads only
            // the directory and JSON entries, each checked against the manifest's sha256).
            var zip = openZip();
            length = zip.Length;
            using var reader = BundleReader.Open(zip, node, limits);
            CheckManifestMatches(reader.Manifest, runId, problems);
            if (problems.Count > 0)
            {
                return new NodeBundle { Node = node, BundlePath = path, Status = record, Rejected = problems[0] };
            }

            var facts = ForCorrelation(reader.ReadFacts());
            var findings = reader.ReadFindings();
            if (length != record!.BundleSize)
            {
                return new NodeBundle { Node = node, BundlePath = path, Status = record, Rejected = $"the zip is {length} bytes, its status record says {record.BundleSize}: replaced or changed after it was sealed" };
            }

            return new NodeBundle
            {
                Node = node,
                BundlePath = path,
                Status = record,
                ReceivedAt = receivedAt,
                Manifest = reader.Manifest,
                Facts = facts,
                Findings = findings,
            };
        }
        catch (BundleRejectedException ex)
        {
            var size = length is { } l && l != record!.BundleSize ? $" (the zip is {l} bytes, its status record says {record.BundleSize})" : string.Empty;
            return new NodeBundle { Node = node, BundlePath = path, Status = record, Rejected = ex.Message + size };
        }
        catch (IOException ex)
        {
            return new NodeBundle { Node = node, BundlePath = path, Status = record, Rejected = $"could not be read: {ex.Message}", ReadFailed = true };
        }
    }

    /// <summary>
    /// A node's bundle from its report digest (<see cref="ReportDigest"/>, carried in its status record's blob metadata)
    /// instead of its zip, judged as <see cref="Read"/> judges the zip's documents: the record valid and naming this run
    /// and node, the manifest naming them too, the listed zip the size the record says. Null when anything disagrees:
    /// the caller then reads the zip, which is the truth and says what is wrong.
    /// </summary>
    public static NodeBundle? FromDigest(string runId, string node, byte[] status, long? zipLength, DateTimeOffset? receivedAt, ReportDigest digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        if (!TryParseStatus(status, out var record, out _) || zipLength != record!.BundleSize || digest.Manifest.Node.Name != node)
        {
            return null;
        }

        var problems = new List<string>();
        CheckStatusMatches(record, runId, node, problems);
        CheckManifestMatches(digest.Manifest, runId, problems);
        return problems.Count > 0
            ? null
            : new NodeBundle
            {
                Node = node,
                BundlePath = StoreLayout.BundlePath(runId, node),
                Status = record,
                ReceivedAt = receivedAt,
                Manifest = digest.Manifest,
                Facts = ForCorrelation(digest.Facts),
                Findings = digest.Findings,
            };
    }

    /// <summary>
    /// <c>verify</c>'s reading of a zip: every entry against the manifest, and the documents judged as <c>report</c>
    /// judges them (a bundle report rejects is never ok). Adds what is wrong to <paramref name="problems"/>; the stream
    /// is the reader's (closed when done).
    /// </summary>
    public static void VerifyEntries(Stream zip, string runId, string node, BundleLimits? limits, List<string> problems, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(problems);
        try
        {
            using var reader = BundleReader.Open(zip, node, limits);
            CheckManifestMatches(reader.Manifest, runId, problems);
            problems.AddRange(reader.VerifyAll(cancellationToken));
            _ = reader.ReadFacts();
            _ = reader.ReadFindings();
        }
        catch (BundleRejectedException ex)
        {
            problems.Add(ex.Message);
        }
        catch (IOException ex)
        {
            problems.Add($"could not be read: {ex.Message}");
        }
    }

    public static bool TryParseStatus(byte[] bytes, out StatusRecord? status, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        status = null;
        if (bytes.Length > MaxStatusSize)
        {
            problem = $"status record is {bytes.Length} bytes, over the limit of {MaxStatusSize}";
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            var version = document.RootElement.ValueKind == JsonValueKind.Object
                          && document.RootElement.TryGetProperty("schemaVersion", out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()
                : null;
            problem = BundleSchema.CheckReadable(version, "status record");
            if (problem is not null)
            {
                return false;
            }

            if (BundleShape.FindNullElement(bytes) is { } at)
            {
                problem = $"status record holds null in a list at {at}";
                return false;
            }

            var parsed = document.Deserialize(BundleJsonContext.Default.StatusRecord);
            if (parsed is null)
            {
                problem = "status record is empty";
                return false;
            }

            var shape = BundleShape.Check(parsed);
            if (shape.Count > 0)
            {
                problem = shape[0];
                return false;
            }

            status = parsed;
            problem = null;
            return true;
        }
        catch (JsonException ex)
        {
            problem = $"status record is not valid JSON: {ex.Message}";
            return false;
        }
    }

    /// <summary>
    /// Only the facts the correlation rules read — DNS probes, CNI IPAM ranges, time sync, which endpoints were probed — are kept while a run is
    /// built (a node's full facts are tens of KiB; the rest stays in its bundle for whoever opens it).
    /// </summary>
    public static FactsDocument? ForCorrelation(FactsDocument? facts)
        => facts is null
            ? null
            : new FactsDocument
            {
                SchemaVersion = facts.SchemaVersion,
                Dns = facts.Dns,
                Cni = facts.Cni is { } cni ? new CniFacts { ConfDirectory = cni.ConfDirectory, Ipam = cni.Ipam } : null,
                System = facts.System?.TimeSync is { } sync ? new SystemFacts { TimeSync = sync } : null,
                Connectivity = facts.Connectivity is { } connectivity
                    ? new ConnectivityFacts { Probes = [.. connectivity.Probes.Select(p => new ConnectivityProbe { Role = p.Role, Host = p.Host, Port = p.Port, Step = p.Step, Certificate = p.Certificate })] }
                    : null,
            };

    public static void CheckStatusMatches(StatusRecord status, string runId, string node, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(problems);
        if (status.Node != node)
        {
            problems.Add($"status record names node '{status.Node}' but is stored as '{node}'");
        }

        if (status.RunId != runId)
        {
            problems.Add($"status record names run '{status.RunId}' but is stored in run '{runId}'");
        }
    }

    public static void CheckManifestMatches(Manifest manifest, string runId, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(problems);
        if (manifest.RunId != runId)
        {
            problems.Add($"manifest names run '{manifest.RunId}' but the bundle is stored in run '{runId}'");
        }
    }
}
