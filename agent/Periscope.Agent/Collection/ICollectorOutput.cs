using System.Text.Json.Serialization.Metadata;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>Where a collector puts what it found. Paths are relative to the collector's folder in the bundle.</summary>
public interface ICollectorOutput
{
    /// <summary>Creates an evidence file; the returned stream stops accepting bytes at the collector's output cap.</summary>
    Stream CreateFile(string relativePath);

    /// <summary>Writes a whole small text file.</summary>
    Task WriteTextAsync(string relativePath, string content, CancellationToken cancellationToken);

    /// <summary>Writes a JSON evidence file.</summary>
    Task WriteJsonAsync<T>(string relativePath, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken);

    /// <summary>Sets the collector's typed facts (one object per collector; the last call wins).</summary>
    void SetFacts<T>(T facts)
        where T : class;

    /// <summary>Reports one observation; observations aggregate into findings on code and subject.</summary>
    void Report(Observation observation);

    /// <summary>Marks the result partial: something could not be collected. The run still succeeds.</summary>
    void MarkPartial(string reason);

    /// <summary>Adds to a named counter recorded in the manifest.</summary>
    void Count(string counter, long value);

    /// <summary>Records a host command that was run (or could not be).</summary>
    void RecordCommand(CommandRecord command);

    /// <summary>Bundle-relative path of one of this collector's files (<c>kernel/kmsg.log</c>).</summary>
    string BundlePath(string relativePath);
}
