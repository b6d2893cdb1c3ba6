using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Periscope.Bundle.Facts;

namespace Periscope.Bundle;

/// <summary>
/// Writes a bundle as a zip, entry by entry, streaming: no entry is held whole in memory. Evidence entries come first,
/// then <c>facts.json</c> and <c>findings.json</c>, then <c>manifest.json</c>, which records the hash of every other
/// entry and must list exactly the entries written.
/// </summary>
public sealed class BundleWriter : IAsyncDisposable
{
    private readonly ZipArchive _zip;
    private readonly HashingWriteStream _file;
    private readonly DateTimeOffset _entryTime;
    private readonly Dictionary<string, BundleFileRecord> _written = new(StringComparer.Ordinal);
    private bool _sealed;

    /// <summary>Starts a bundle on <paramref name="destination"/>, which the writer owns from now on.</summary>
    /// <param name="destination">A writable stream; it need not be seekable.</param>
    /// <param name="entryTime">Time stamped on every entry.</param>
    public BundleWriter(Stream destination, DateTimeOffset entryTime)
    {
        ArgumentNullException.ThrowIfNull(destination);
        // The zip is written through a non-seekable hashing stream: entries carry data descriptors, and the
        // bundle's own sha256 and size are known the moment it is sealed, without reading it back.
        _file = new HashingWriteStream(destination);
        _zip = new ZipArchive(_file, ZipArchiveMode.Create, leaveOpen: true);
        // Zip timestamps start in 1980 (DOS time); an earlier clock (a node whose RTC was reset) is clamped.
        var earliest = new DateTimeOffset(1980, 1, 2, 0, 0, 0, TimeSpan.Zero);
        _entryTime = entryTime < earliest ? earliest : entryTime;
    }

    /// <summary>Sum of the sizes of the entries written so far.</summary>
    public long ContentSize { get; private set; }

    /// <summary>Size in bytes of the sealed zip (valid after <see cref="SealAsync"/>).</summary>
    public long BundleSize => _file.BytesWritten;

    /// <summary>Lower-case hex SHA-256 of the sealed zip (valid after <see cref="SealAsync"/>).</summary>
    public string BundleSha256 => _sealed ? _file.Sha256 : throw new InvalidOperationException("The bundle is not sealed yet.");

    /// <summary>Records of the entries written so far.</summary>
    public IReadOnlyCollection<BundleFileRecord> Written => _written.Values;

    /// <summary>Copies <paramref name="content"/> into a new entry.</summary>
    /// <returns>The entry's record (path, size, sha256); extra fields can be added with <c>with</c>.</returns>
    public async Task<BundleFileRecord> AddEntryAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        await using var entry = OpenEntry(path);
        await content.CopyToAsync(entry, cancellationToken);
        await entry.DisposeAsync();
        return _written[path];
    }

    /// <summary>Opens a new entry for writing; its record is taken when the returned stream is disposed.</summary>
    public Stream OpenEntry(string path)
    {
        ObjectDisposedException.ThrowIf(_sealed, this);
        var problem = BundleEntryName.Problem(path);
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(path));
        }

        if (path is BundleSchema.ManifestEntry || _written.ContainsKey(path))
        {
            throw new ArgumentException($"Bundle entry '{path}' is reserved or already written.", nameof(path));
        }

        var entry = _zip.CreateEntry(path, CompressionLevel.Optimal);
        entry.LastWriteTime = _entryTime;
        entry.ExternalAttributes = Convert.ToInt32("100600", 8) << 16; // regular file, owner read/write
        return new RecordingStream(this, path, entry.Open());
    }

    /// <summary>Writes a JSON document entry.</summary>
    public async Task<BundleFileRecord> AddJsonAsync<T>(string path, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        await using (var stream = OpenEntry(path))
        {
            await JsonSerializer.SerializeAsync(stream, value, typeInfo, cancellationToken);
        }

        return _written[path];
    }

    /// <summary>
    /// Writes <c>facts.json</c>, <c>findings.json</c> and, last, the manifest built by <paramref name="buildManifest"/>
    /// from the records of those two documents; then closes the zip.
    /// </summary>
    /// <exception cref="InvalidOperationException">The manifest does not list exactly the entries written.</exception>
    public async Task<Manifest> SealAsync(
        FactsDocument facts,
        FindingsDocument findings,
        Func<IReadOnlyList<BundleFileRecord>, Manifest> buildManifest,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(buildManifest);
        var factsRecord = await AddJsonAsync(BundleSchema.FactsEntry, facts, BundleJsonContext.Default.FactsDocument, cancellationToken);
        var findingsRecord = await AddJsonAsync(BundleSchema.FindingsEntry, findings, BundleJsonContext.Default.FindingsDocument, cancellationToken);
        var manifest = buildManifest([factsRecord, findingsRecord]);
        CheckManifestListsEverything(manifest);

        var entry = _zip.CreateEntry(BundleSchema.ManifestEntry, CompressionLevel.Optimal);
        entry.LastWriteTime = _entryTime;
        entry.ExternalAttributes = Convert.ToInt32("100600", 8) << 16;
        await using (var stream = entry.Open())
        {
            await JsonSerializer.SerializeAsync(stream, manifest, BundleJsonContext.Default.Manifest, cancellationToken);
        }

        _sealed = true;
        await _zip.DisposeAsync();
        await _file.FlushAsync(cancellationToken);
        _ = _file.Sha256;
        return manifest;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_sealed)
        {
            _sealed = true;
            await _zip.DisposeAsync();
        }

        await _file.DisposeAsync();
    }

    private void CheckManifestListsEverything(Manifest manifest)
    {
        var listed = manifest.Collectors.SelectMany(c => c.Files).Concat(manifest.Documents).ToList();
        foreach (var record in listed)
        {
            if (!_written.TryGetValue(record.Path, out var written) || written.Sha256 != record.Sha256 || written.Size != record.Size)
            {
                throw new InvalidOperationException($"Manifest lists '{record.Path}' which was not written as recorded.");
            }
        }

        if (listed.Count != _written.Count)
        {
            var missing = _written.Keys.Except(listed.Select(r => r.Path), StringComparer.Ordinal).FirstOrDefault();
            throw new InvalidOperationException($"Manifest does not list the written entry '{missing}'.");
        }
    }

    private void Record(string path, long size, string sha256)
    {
        _written[path] = new BundleFileRecord { Path = path, Size = size, Sha256 = sha256 };
        ContentSize += size;
    }

    private sealed class RecordingStream(BundleWriter owner, string path, Stream entryStream) : Stream
    {
        private readonly HashingWriteStream _inner = new(entryStream);
        private bool _done;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _inner.BytesWritten;
        public override long Position { get => _inner.BytesWritten; set => throw new NotSupportedException(); }
        public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.WriteAsync(buffer, offset, count, cancellationToken);
        public override void Flush() => _inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_done)
            {
                _done = true;
                _inner.Dispose();
                owner.Record(path, _inner.BytesWritten, _inner.Sha256);
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (!_done)
            {
                _done = true;
                await _inner.DisposeAsync();
                owner.Record(path, _inner.BytesWritten, _inner.Sha256);
            }

            await base.DisposeAsync();
        }
    }
}
