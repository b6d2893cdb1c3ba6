using System.Text.Json.Serialization.Metadata;
using Periscope.Bundle;

namespace Periscope.Agent.Collection;

/// <summary>
/// The output of one signal-check pass: it keeps the observations and whether the pass was partial, and throws every
/// byte of evidence away (a check seals no bundle; evidence paths in its observations name where a full run puts it).
/// </summary>
public sealed class SignalCheckOutput(string collector) : ICollectorOutput
{
    private readonly List<Observation> _observations = [];

    public IReadOnlyList<Observation> Observations => _observations;

    /// <summary>Why the pass was partial, or null: a partial pass proves nothing absent.</summary>
    public string? Partial { get; private set; }

    public Stream CreateFile(string relativePath) => Stream.Null;

    public Task WriteTextAsync(string relativePath, string content, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task WriteJsonAsync<T>(string relativePath, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken) => Task.CompletedTask;

    public void SetFacts<T>(T facts)
        where T : class
    {
    }

    public void Report(Observation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        _observations.Add(observation);
    }

    public void MarkPartial(string reason) => Partial ??= reason;

    public void Count(string counter, long value)
    {
    }

    public void RecordCommand(CommandRecord command)
    {
    }

    public string BundlePath(string relativePath) => $"{collector}/{relativePath}";
}
