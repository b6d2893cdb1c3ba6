using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Periscope.Bundle.Facts;

namespace Periscope.Bundle;

/// <summary>
/// Reads a bundle through a seekable stream: opening reads only the zip's central directory and the manifest, and
/// each document is read and verified against the manifest's hash when asked for, so a ranged-read stream moves
/// little. Every check that fails throws <see cref="BundleRejectedException"/> with the reason.
/// </summary>
public sealed class BundleReader : IDisposable
{
    private readonly ZipArchive _zip;
    private readonly BundleLimits _limits;
    private readonly Dictionary<string, BundleFileRecord> _records;

    private BundleReader(ZipArchive zip, Manifest manifest, BundleLimits limits, Dictionary<string, BundleFileRecord> records)
    {
        _zip = zip;
        Manifest = manifest;
        _limits = limits;
        _records = records;
    }

    /// <summary>The manifest (read and schema-checked at open).</summary>
    public Manifest Manifest { get; }

    /// <summary>Every entry the manifest records (collector files and documents).</summary>
    public IReadOnlyCollection<BundleFileRecord> Entries => _records.Values;

    /// <summary>
    /// Opens a bundle. The reader owns <paramref name="stream"/> from now on.
    /// </summary>
    /// <param name="stream">A readable, seekable stream over the zip.</param>
    /// <param name="expectedNode">Node named by the bundle's store path; a manifest naming another node is rejected.</param>
    /// <param name="limits">Limits to enforce; <see cref="BundleLimits.Default"/> when null.</param>
    public static BundleReader Open(Stream stream, string? expectedNode = null, BundleLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        limits ??= BundleLimits.Default;
        if (!stream.CanSeek)
        {
            throw new ArgumentException("A bundle is read through a seekable stream.", nameof(stream));
        }

        ZipArchive zip;
        try
        {
            // The end record says how many entries the directory holds and how large it is: a directory past the
            // limits is refused before it is loaded (a zip of millions of entries would take gigabytes).
            var directoryProblem = ZipDirectory.Check(stream, limits);
            if (directoryProblem is not null)
            {
                throw new BundleRejectedException(directoryProblem);
            }

            stream.Position = 0;
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (BundleRejectedException)
        {
            stream.Dispose();
            throw;
        }
        catch (InvalidDataException ex)
        {
            stream.Dispose();
            throw new BundleRejectedException($"not a readable zip (truncated or corrupt): {ex.Message}", ex);
        }

        try
        {
            CheckStructure(zip, limits);
            var manifest = ReadManifest(zip, limits);
            if (expectedNode is not null && !string.Equals(manifest.Node.Name, expectedNode, StringComparison.Ordinal))
            {
                throw new BundleRejectedException(
                    $"manifest names node '{manifest.Node.Name}' but the bundle is stored as '{expectedNode}'");
            }

            var records = IndexRecords(zip, manifest);
            return new BundleReader(zip, manifest, limits, records);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>Reads and verifies <c>facts.json</c>.</summary>
    public FactsDocument ReadFacts()
        => ReadDocument(BundleSchema.FactsEntry, BundleJsonContext.Default.FactsDocument, Math.Min(_limits.MaxFactsSize, _limits.MaxDocumentSize));

    /// <summary>Reads and verifies <c>findings.json</c> (at most <see cref="BundleLimits.MaxFindings"/> findings).</summary>
    public FindingsDocument ReadFindings()
    {
        var findings = ReadDocument(BundleSchema.FindingsEntry, BundleJsonContext.Default.FindingsDocument, Math.Min(_limits.MaxFindingsSize, _limits.MaxDocumentSize));
        return findings.Findings.Count <= _limits.MaxFindings
            ? findings
            : throw new BundleRejectedException($"findings.json holds {findings.Findings.Count} findings, over the limit of {_limits.MaxFindings}");
    }

    /// <summary>Opens an evidence entry for reading. The content is not verified; use <see cref="VerifyAll"/> for that.</summary>
    public Stream OpenEntry(string path)
    {
        if (!_records.ContainsKey(path))
        {
            throw new FileNotFoundException($"The bundle has no entry '{path}'.", path);
        }

        return _zip.GetEntry(path)!.Open();
    }

    /// <summary>Reads every entry and checks its size and hash against the manifest.</summary>
    /// <returns>The problems found; empty when the bundle is intact.</returns>
    public IReadOnlyList<string> VerifyAll(CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        foreach (var record in _records.Values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                VerifyEntry(record, _limits.MaxExpandedSize);
            }
            catch (BundleRejectedException ex)
            {
                problems.Add(ex.Message);
            }
        }

        return problems;
    }

    /// <inheritdoc />
    public void Dispose() => _zip.Dispose();

    private T ReadDocument<T>(string path, JsonTypeInfo<T> typeInfo, long maxSize)
    {
        if (!_records.TryGetValue(path, out var record))
        {
            throw new BundleRejectedException($"the manifest does not record {path}");
        }

        var bytes = VerifyEntry(record, maxSize, keep: true)!;
        T? value;
        try
        {
            RefuseNullElements(bytes, path);
            value = JsonSerializer.Deserialize(bytes, typeInfo);
        }
        catch (JsonException ex)
        {
            throw new BundleRejectedException($"{path} is not valid JSON: {ex.Message}", ex);
        }

        if (value is null)
        {
            throw new BundleRejectedException($"{path} is empty");
        }

        var version = value switch
        {
            FactsDocument facts => facts.SchemaVersion,
            FindingsDocument findings => findings.SchemaVersion,
            _ => BundleSchema.Version,
        };
        var problem = BundleSchema.CheckReadable(version, path);
        if (problem is not null)
        {
            throw new BundleRejectedException(problem);
        }

        var shape = value switch
        {
            FactsDocument facts => BundleShape.Check(facts),
            FindingsDocument findings => BundleShape.Check(findings),
            _ => [],
        };
        return shape.Count == 0 ? value : throw new BundleRejectedException(shape[0]);
    }

    private static void RefuseNullElements(ReadOnlySpan<byte> json, string document)
    {
        var at = BundleShape.FindNullElement(json);
        if (at is not null)
        {
            throw new BundleRejectedException($"{document} holds null in a list at {at}");
        }
    }

    private byte[]? VerifyEntry(BundleFileRecord record, long maxSize, bool keep = false)
    {
        var entry = _zip.GetEntry(record.Path)
            ?? throw new BundleRejectedException($"entry {record.Path} is recorded in the manifest but missing from the zip");
        if (entry.Length != record.Size)
        {
            throw new BundleRejectedException($"entry {record.Path} is {entry.Length} bytes, the manifest says {record.Size}");
        }

        if (record.Size > maxSize)
        {
            throw new BundleRejectedException($"entry {record.Path} is {record.Size} bytes, over the limit of {maxSize}");
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var memory = keep ? new MemoryStream((int)record.Size) : null;
        var buffer = new byte[81920];
        long total = 0;
        try
        {
            using var stream = entry.Open();
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                total += read;
                if (total > record.Size)
                {
                    throw new BundleRejectedException($"entry {record.Path} expands past its recorded size");
                }

                hash.AppendData(buffer, 0, read);
                memory?.Write(buffer, 0, read);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new BundleRejectedException($"entry {record.Path} is corrupt: {ex.Message}", ex);
        }

        var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (total != record.Size || !string.Equals(sha, record.Sha256, StringComparison.Ordinal))
        {
            throw new BundleRejectedException($"entry {record.Path} does not match its sha256 in the manifest (tampered or corrupt)");
        }

        return memory?.ToArray();
    }

    private static void CheckStructure(ZipArchive zip, BundleLimits limits)
    {
        System.Collections.ObjectModel.ReadOnlyCollection<ZipArchiveEntry> entries;
        try
        {
            entries = zip.Entries;
        }
        catch (InvalidDataException ex)
        {
            throw new BundleRejectedException($"the zip's central directory is corrupt: {ex.Message}", ex);
        }

        if (entries.Count > limits.MaxEntries)
        {
            throw new BundleRejectedException($"the zip has {entries.Count} entries, over the limit of {limits.MaxEntries}");
        }

        long expanded = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var problem = BundleEntryName.Problem(entry.FullName);
            if (problem is not null)
            {
                throw new BundleRejectedException($"unsafe {problem}");
            }

            // Unix file type in the high half of the external attributes: only regular files (or none recorded).
            var type = (entry.ExternalAttributes >> 16) & 0xF000;
            if (type is not (0 or 0x8000))
            {
                throw new BundleRejectedException($"entry {entry.FullName} is not a regular file (a symbolic link or special file)");
            }

            if (!names.Add(entry.FullName))
            {
                throw new BundleRejectedException($"entry {entry.FullName} appears twice");
            }

            expanded += entry.Length;
            if (expanded > limits.MaxExpandedSize)
            {
                throw new BundleRejectedException($"the entries expand to more than {limits.MaxExpandedSize} bytes (zip bomb limit)");
            }

            if (entry.Length > limits.RatioFloor
                && entry.Length > limits.MaxCompressionRatio * Math.Max(1, entry.CompressedLength))
            {
                throw new BundleRejectedException(
                    $"entry {entry.FullName} expands {entry.Length / Math.Max(1, entry.CompressedLength)}-fold, over the limit of {limits.MaxCompressionRatio} (zip bomb limit)");
            }
        }
    }

    private static Manifest ReadManifest(ZipArchive zip, BundleLimits limits)
    {
        var entry = zip.GetEntry(BundleSchema.ManifestEntry)
            ?? throw new BundleRejectedException("the bundle has no manifest.json");
        if (entry.Length > limits.MaxDocumentSize)
        {
            throw new BundleRejectedException($"manifest.json is {entry.Length} bytes, over the limit of {limits.MaxDocumentSize}");
        }

        try
        {
            var bytes = new byte[entry.Length];
            using (var stream = entry.Open())
            {
                stream.ReadExactly(bytes);
                if (stream.ReadByte() != -1)
                {
                    throw new BundleRejectedException("manifest.json expands past its recorded size");
                }
            }

            // Check the version before binding the rest: a newer major may have any shape.
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = BundleShape.MaxDepth });
            var version = document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("schemaVersion", out var v) && v.ValueKind == JsonValueKind.String
                    ? v.GetString()
                    : null;
            var problem = BundleSchema.CheckReadable(version, BundleSchema.ManifestEntry);
            if (problem is not null)
            {
                throw new BundleRejectedException(problem);
            }

            RefuseNullElements(bytes, BundleSchema.ManifestEntry);
            var manifest = document.Deserialize(BundleJsonContext.Default.Manifest)
                ?? throw new BundleRejectedException("manifest.json is empty");
            var shape = BundleShape.Check(manifest);
            return shape.Count == 0 ? manifest : throw new BundleRejectedException(shape[0]);
        }
        catch (EndOfStreamException ex)
        {
            throw new BundleRejectedException("manifest.json is shorter than its recorded size", ex);
        }
        catch (JsonException ex)
        {
            throw new BundleRejectedException($"manifest.json is not valid: {ex.Message}", ex);
        }
        catch (InvalidDataException ex)
        {
            throw new BundleRejectedException($"manifest.json is corrupt: {ex.Message}", ex);
        }
    }

    private static Dictionary<string, BundleFileRecord> IndexRecords(ZipArchive zip, Manifest manifest)
    {
        var records = new Dictionary<string, BundleFileRecord>(StringComparer.Ordinal);
        foreach (var record in manifest.Collectors.SelectMany(c => c.Files).Concat(manifest.Documents))
        {
            var problem = BundleEntryName.Problem(record.Path);
            if (problem is not null)
            {
                throw new BundleRejectedException($"manifest records an unsafe {problem}");
            }

            if (!records.TryAdd(record.Path, record))
            {
                throw new BundleRejectedException($"manifest records {record.Path} twice");
            }

            if (zip.GetEntry(record.Path) is null)
            {
                throw new BundleRejectedException($"entry {record.Path} is recorded in the manifest but missing from the zip");
            }
        }

        foreach (var entry in zip.Entries)
        {
            if (entry.FullName != BundleSchema.ManifestEntry && !records.ContainsKey(entry.FullName))
            {
                throw new BundleRejectedException($"entry {entry.FullName} is not recorded in the manifest");
            }
        }

        return records;
    }
}
