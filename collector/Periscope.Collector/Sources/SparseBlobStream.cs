using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Periscope.Collector.Sources;

/// <summary>
/// A read-only, seekable view of one version of a blob (its ETag) made of the byte ranges fetched so far. Ranges are
/// fetched ahead with <see cref="FetchAsync"/> (overlaps with what is held are not fetched again); a read that falls
/// outside them fetches what it misses there and then (at least <see cref="MinimumFetch"/> bytes), so a reader that
/// wants more than was planned still gets it, at the cost of a request. Every request names the ETag
/// (<c>If-Match</c>): a blob replaced while it is read is an <see cref="IOException"/>, never a mix of two versions.
/// </summary>
internal sealed class SparseBlobStream(BlobClient blob, long length, ETag etag, Action<long> counted) : Stream
{
    /// <summary>The least a read outside the fetched ranges asks for.</summary>
    public const int MinimumFetch = 64 * 1024;

    /// <summary>Fetched ranges, by start, never overlapping.</summary>
    private readonly SortedList<long, byte[]> _ranges = [];
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    /// <summary>True when every byte of [<paramref name="start"/>, <paramref name="end"/>) is held.</summary>
    public bool Holds(long start, long end) => Missing(start, end).Count == 0;

    /// <summary>Copies held bytes at <paramref name="start"/> into <paramref name="destination"/>; false when not all are held.</summary>
    public bool TryCopy(long start, Span<byte> destination)
    {
        if (!Holds(start, start + destination.Length))
        {
            return false;
        }

        CopyHeld(start, destination);
        return true;
    }

    /// <summary>
    /// Fetches what is not yet held of each range (clipped to the blob), adjacent and nearby gaps merged into one request
    /// when fewer than <paramref name="mergeGap"/> bytes lie between them.
    /// </summary>
    public async Task FetchAsync(IEnumerable<(long Start, long End)> wanted, long mergeGap, CancellationToken cancellationToken)
    {
        var missing = wanted.Select(w => (Start: Math.Max(0, w.Start), End: Math.Min(length, w.End)))
            .Where(w => w.End > w.Start)
            .SelectMany(w => Missing(w.Start, w.End))
            .OrderBy(m => m.Start)
            .ToList();
        var merged = new List<(long Start, long End)>();
        foreach (var range in missing)
        {
            if (merged.Count > 0 && range.Start - merged[^1].End <= mergeGap)
            {
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, range.End));
            }
            else
            {
                merged.Add(range);
            }
        }

        foreach (var (start, end) in merged)
        {
            // A merged range may span a few held bytes between its gaps: fewer requests matter more than those bytes.
            Add(start, await DownloadAsync(start, end, cancellationToken));
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var count = (int)Math.Min(buffer.Length, Math.Max(0, length - _position));
        if (count == 0)
        {
            return 0;
        }

        var missing = Missing(_position, _position + count);
        if (missing.Count > 0)
        {
            var start = missing[0].Start;
            var end = Math.Min(length, Math.Max(missing[^1].End, start + MinimumFetch));
            Add(start, Download(start, end));
        }

        CopyHeld(_position, buffer[..count]);
        _position += count;
        return count;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(Read(buffer.Span));

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>The parts of [start, end) not held, in order.</summary>
    private List<(long Start, long End)> Missing(long start, long end)
    {
        var missing = new List<(long, long)>();
        var at = start;
        foreach (var (rangeStart, bytes) in _ranges)
        {
            if (at >= end)
            {
                break;
            }

            var rangeEnd = rangeStart + bytes.Length;
            if (rangeEnd <= at)
            {
                continue;
            }

            if (rangeStart > at)
            {
                missing.Add((at, Math.Min(rangeStart, end)));
            }

            at = Math.Max(at, rangeEnd);
        }

        if (at < end)
        {
            missing.Add((at, end));
        }

        return missing;
    }

    private void CopyHeld(long start, Span<byte> destination)
    {
        var at = start;
        var written = 0;
        foreach (var (rangeStart, bytes) in _ranges)
        {
            if (written == destination.Length)
            {
                break;
            }

            var rangeEnd = rangeStart + bytes.Length;
            if (rangeEnd <= at || rangeStart > at)
            {
                continue;
            }

            var n = (int)Math.Min(rangeEnd - at, destination.Length - written);
            bytes.AsSpan((int)(at - rangeStart), n).CopyTo(destination[written..]);
            written += n;
            at += n;
        }
    }

    /// <summary>Holds <paramref name="bytes"/> at <paramref name="start"/>, trimmed to what was not held (ranges never overlap).</summary>
    private void Add(long start, byte[] bytes)
    {
        foreach (var (s, e) in Missing(start, start + bytes.Length))
        {
            _ranges.Add(s, s == start && e == start + bytes.Length ? bytes : bytes.AsSpan((int)(s - start), (int)(e - s)).ToArray());
        }
    }

    private BlobDownloadOptions Options(long start, long end)
        => new() { Range = new HttpRange(start, end - start), Conditions = new BlobRequestConditions { IfMatch = etag } };

    private async Task<byte[]> DownloadAsync(long start, long end, CancellationToken cancellationToken)
    {
        try
        {
            var response = await blob.DownloadStreamingAsync(Options(start, end), cancellationToken);
            await using var content = response.Value.Content;
            var bytes = new byte[end - start];
            await content.ReadExactlyAsync(bytes, cancellationToken);
            counted(bytes.Length);
            return bytes;
        }
        catch (RequestFailedException ex)
        {
            throw Failed(ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new IOException($"{blob.Name}: the blob ended before byte {end} of a ranged read", ex);
        }
    }

    private byte[] Download(long start, long end)
    {
        try
        {
            var response = blob.DownloadStreaming(Options(start, end));
            using var content = response.Value.Content;
            var bytes = new byte[end - start];
            content.ReadExactly(bytes);
            counted(bytes.Length);
            return bytes;
        }
        catch (RequestFailedException ex)
        {
            throw Failed(ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new IOException($"{blob.Name}: the blob ended before byte {end} of a ranged read", ex);
        }
    }

    private static IOException Failed(RequestFailedException ex) => ex.Status switch
    {
        412 => new IOException("the zip was replaced while it was read (its ETag changed); it is read again at the next listing", ex),
        404 => new IOException("the zip was deleted while it was read", ex),
        _ => new IOException($"a ranged read of the zip failed ({ex.Status} {ex.ErrorCode})", ex),
    };
}
