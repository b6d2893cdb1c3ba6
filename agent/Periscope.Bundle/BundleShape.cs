using System.Text.Json;
using Periscope.Bundle.Facts;

namespace Periscope.Bundle;

/// <summary>
/// What the serializer alone does not check of a bundle document's shape: no <c>null</c> inside a list, no
/// <c>null</c> value in a map, enumerations holding a defined value, counts and sizes in range. A document that fails
/// is refused with the place it fails at, like any other bad bundle, so no reader meets a null it was promised not to.
/// </summary>
public static class BundleShape
{
    /// <summary>Most nesting a bundle document may have (the schemas need fewer than ten levels).</summary>
    public const int MaxDepth = 32;

    /// <summary>
    /// Finds the first <c>null</c> that stands as an element of a list, anywhere in the document (the schemas allow
    /// none: a writer leaves out what it does not know).
    /// </summary>
    /// <returns><see langword="null"/> when there is none, else the JSON path of the first.</returns>
    public static string? FindNullElement(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        // For each open container: whether it is a list, the index of the next element, and the last property name.
        var frames = new List<(bool IsArray, int Index, string? Property)>();
        string? property = null;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    property = reader.GetString();
                    break;
                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                    Advance(frames, property);
                    frames.Add((reader.TokenType == JsonTokenType.StartArray, 0, null));
                    property = null;
                    break;
                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    frames.RemoveAt(frames.Count - 1);
                    property = null;
                    break;
                case JsonTokenType.Null when frames.Count > 0 && frames[^1].IsArray:
                    return PathOf(frames);
                default:
                    Advance(frames, property);
                    property = null;
                    break;
            }
        }

        return null;
    }

    /// <summary>Checks a manifest's values beyond its types.</summary>
    /// <returns>The problems found (empty when none).</returns>
    public static IReadOnlyList<string> Check(Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var problems = new List<string>();
        if (!RunId.IsValid(manifest.RunId))
        {
            problems.Add("manifest.json: runId is not a valid run id");
        }

        if (!NodeName.IsValid(manifest.Node.Name))
        {
            problems.Add("manifest.json: node.name is not a valid node name");
        }

        for (var i = 0; i < manifest.Collectors.Count; i++)
        {
            var collector = manifest.Collectors[i];
            if (!Enum.IsDefined(collector.Status))
            {
                problems.Add($"manifest.json: collectors[{i}].status is not a collector status");
            }

            if (collector.DurationMs < 0 || double.IsNaN(collector.DurationMs))
            {
                problems.Add($"manifest.json: collectors[{i}].durationMs is negative");
            }

            CheckFiles(collector.Files, $"collectors[{i}].files", problems);
        }

        CheckFiles(manifest.Documents, "documents", problems);
        return problems;
    }

    /// <summary>Checks a findings document's values beyond its types.</summary>
    /// <returns>The problems found (empty when none).</returns>
    public static IReadOnlyList<string> Check(FindingsDocument findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var problems = new List<string>();
        for (var i = 0; i < findings.Findings.Count; i++)
        {
            var finding = findings.Findings[i];
            var at = $"findings.json: findings[{i}]";
            if (!Enum.IsDefined(finding.Severity))
            {
                problems.Add($"{at}.severity is not a severity");
            }

            if (!Enum.IsDefined(finding.Subject.Kind))
            {
                problems.Add($"{at}.subject.kind is not a subject kind");
            }

            if (finding.Code.Length == 0 || finding.Subject.Id.Length == 0)
            {
                problems.Add($"{at} has an empty code or subject id");
            }

            if (finding.Count < 1)
            {
                problems.Add($"{at}.count is {finding.Count}, below 1");
            }

            CheckMap(finding.Attributes, $"{at}.attributes", problems);
            foreach (var evidence in finding.Evidence)
            {
                if (evidence.Line is < 1)
                {
                    problems.Add($"{at}.evidence names line {evidence.Line}, below 1");
                    break;
                }
            }
        }

        return problems;
    }

    /// <summary>Checks a facts document's values beyond its types.</summary>
    /// <returns>The problems found (empty when none).</returns>
    public static IReadOnlyList<string> Check(FactsDocument facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var problems = new List<string>();
        CheckMap(facts.Kubelet?.EvictionHard, "facts.json: kubelet.evictionHard", problems);
        CheckMap(facts.Kubelet?.NodeLabels, "facts.json: kubelet.nodeLabels", problems);
        CheckMap(facts.System?.Unavailable, "facts.json: system.unavailable", problems);
        if (facts.System?.Pressure is { } pressure)
        {
            foreach (var (name, value) in pressure)
            {
                if (value is null)
                {
                    problems.Add($"facts.json: system.pressure.{name} is null");
                }
            }
        }

        return problems;
    }

    /// <summary>Checks a status record's values beyond its types.</summary>
    /// <returns>The problems found (empty when none).</returns>
    public static IReadOnlyList<string> Check(StatusRecord status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var problems = new List<string>();
        if (!Enum.IsDefined(status.Status) || !Enum.IsDefined(status.Collection))
        {
            problems.Add("status record: status or collection is not a defined value");
        }

        if (status.BundleSize < 0 || status.ContentSize < 0 || status.Findings.Info < 0 || status.Findings.Warning < 0 || status.Findings.Critical < 0)
        {
            problems.Add("status record: a size or a finding count is negative");
        }

        return problems;
    }

    private static void CheckFiles(IReadOnlyList<BundleFileRecord> files, string at, List<string> problems)
    {
        for (var i = 0; i < files.Count; i++)
        {
            if (files[i].Size < 0)
            {
                problems.Add($"manifest.json: {at}[{i}].size is negative");
            }
        }
    }

    private static void CheckMap<TValue>(IReadOnlyDictionary<string, TValue>? map, string at, List<string> problems)
    {
        if (map is null)
        {
            return;
        }

        foreach (var (key, value) in map)
        {
            if (value is null)
            {
                problems.Add($"{at}.{key} is null");
                return;
            }
        }
    }

    private static void Advance(List<(bool IsArray, int Index, string? Property)> frames, string? property)
    {
        if (frames.Count > 0)
        {
            var top = frames[^1];
            frames[^1] = top.IsArray ? top with { Index = top.Index + 1 } : top with { Property = property };
        }
    }

    private static string PathOf(List<(bool IsArray, int Index, string? Property)> frames)
    {
        var path = new System.Text.StringBuilder("$");
        for (var i = 0; i < frames.Count; i++)
        {
            var frame = frames[i];
            if (frame.IsArray)
            {
                // The open list's index is the element being read; an enclosing list's index has moved past its child.
                path.Append('[').Append(i == frames.Count - 1 ? frame.Index : frame.Index - 1).Append(']');
            }
            else if (frame.Property is not null)
            {
                path.Append('.').Append(frame.Property);
            }
        }

        return path.ToString();
    }
}
