using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>
/// A collector's output during a run: evidence files go to the staging directory under a byte budget shared by all
/// of the collector's files; observations, facts and counters are kept in memory. After the run has taken the
/// result the output is closed, so a collector abandoned past its deadline cannot change what is sealed.
/// </summary>
internal sealed class CollectorOutput : ICollectorOutput
{
    private readonly string _name;
    private readonly string _directory;
    private readonly long _cap;
    private readonly ConcurrentQueue<Observation> _observations = new();
    private readonly ConcurrentDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<CommandRecord> _commands = new();
    private readonly ConcurrentQueue<string> _partialReasons = new();
    private readonly List<StagedFile> _files = [];
    private readonly Lock _lock = new();
    private long _written;
    private object? _facts;
    private volatile bool _closed;

    private readonly IEvidenceRedaction _redaction;

    public CollectorOutput(string name, string stagingRoot, long capBytes, IEvidenceRedaction redaction)
    {
        ArgumentNullException.ThrowIfNull(redaction);
        _redaction = redaction;
        _name = name;
        _directory = Path.Combine(stagingRoot, name);
        _cap = capBytes;
        Directory.CreateDirectory(_directory);
    }

    public bool CapReached { get; private set; }

    public string BundlePath(string relativePath) => $"{_name}/{relativePath}";

    /// <summary>A new evidence file; what is written to it is redacted line by line on its way to disk.</summary>
    public Stream CreateFile(string relativePath)
    {
        var (file, stream) = CreateStaged(relativePath);
        return _redaction.RedactText(stream, file.Redactions);
    }

    private (StagedFile File, Stream Stream) CreateStaged(string relativePath)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        var bundlePath = BundlePath(relativePath);
        var problem = BundleEntryName.Problem(bundlePath);
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(relativePath));
        }

        var staged = Path.Combine(_directory, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(staged)!);
        var file = new StagedFile(bundlePath, staged);
        lock (_lock)
        {
            if (_files.Any(f => f.BundlePath == bundlePath))
            {
                throw new ArgumentException($"Evidence file '{bundlePath}' was already written.", nameof(relativePath));
            }

            _files.Add(file);
        }

        var stream = new FileStream(staged, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        return (file, new BudgetStream(this, file, stream));
    }

    public async Task WriteTextAsync(string relativePath, string content, CancellationToken cancellationToken)
    {
        await using var stream = CreateFile(relativePath);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(content), cancellationToken);
    }

    /// <summary>A JSON evidence file, redacted value by value (escapes decoded) so the document stays valid.</summary>
    public async Task WriteJsonAsync<T>(string relativePath, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        var (file, stream) = CreateStaged(relativePath);
        await using (stream)
        {
            var json = _redaction.RedactJson(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo), file.Redactions);
            await stream.WriteAsync(json, cancellationToken);
        }
    }

    public void SetFacts<T>(T facts)
        where T : class
    {
        if (!_closed)
        {
            _facts = facts;
        }
    }

    public void Report(Observation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        if (!_closed)
        {
            _observations.Enqueue(observation);
        }
    }

    public void MarkPartial(string reason)
    {
        if (!_closed)
        {
            _partialReasons.Enqueue(reason);
        }
    }

    public void Count(string counter, long value)
    {
        if (!_closed)
        {
            _counters.AddOrUpdate(counter, value, (_, current) => current + value);
        }
    }

    public void RecordCommand(CommandRecord command)
    {
        if (!_closed)
        {
            _commands.Enqueue(command);
        }
    }

    /// <summary>Stops accepting anything and returns what was produced.</summary>
    public CollectorResult Close(CollectorStatus status, TimeSpan duration, string? error)
    {
        _closed = true;
        var reasons = _partialReasons.Distinct(StringComparer.Ordinal).ToList();
        if (status == CollectorStatus.Ok && reasons.Count > 0)
        {
            status = CollectorStatus.Partial;
        }

        if (reasons.Count > 0)
        {
            error = error is null ? string.Join("; ", reasons) : error + "; " + string.Join("; ", reasons);
        }

        List<StagedFile> files;
        lock (_lock)
        {
            files = [.. _files];
        }

        return new CollectorResult
        {
            Name = _name,
            Status = status,
            Duration = duration,
            Error = error,
            Files = files,
            Facts = _facts,
            Observations = [.. _observations],
            Counters = new Dictionary<string, long>(_counters, StringComparer.Ordinal),
            Commands = [.. _commands],
        };
    }

    private int Admit(StagedFile file, int requested)
    {
        if (_closed)
        {
            return 0;
        }

        lock (_lock)
        {
            var allowed = (int)Math.Clamp(_cap - _written, 0, requested);
            _written += allowed;
            if (allowed < requested)
            {
                file.AttemptedSize = (file.AttemptedSize ?? 0) + (requested - allowed);
                if (!CapReached)
                {
                    CapReached = true;
                    _partialReasons.Enqueue($"output cap of {_cap} bytes reached; later evidence was dropped");
                }

                file.Note = $"cut at the collector's output cap of {_cap} bytes";
            }

            return allowed;
        }
    }

    private sealed class BudgetStream(CollectorOutput owner, StagedFile file, FileStream inner) : Stream
    {
        private long _kept;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _kept;
        public override long Position { get => _kept; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var allowed = owner.Admit(file, buffer.Length);
            if (allowed > 0)
            {
                inner.Write(buffer[..allowed]);
                _kept += allowed;
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var allowed = owner.Admit(file, buffer.Length);
            if (allowed > 0)
            {
                await inner.WriteAsync(buffer[..allowed], cancellationToken);
                _kept += allowed;
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}
