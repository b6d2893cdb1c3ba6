using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Periscope.Agent.Redaction;

/// <summary>
/// Redacts a bundle document object (facts, findings) through its JSON form, so that what is written into the bundle
/// and what the CLI prints are the same redacted values.
/// </summary>
internal static class DocumentRedaction
{
    public static T Redact<T>(T document, JsonTypeInfo<T> typeInfo, Redactor redactor, Dictionary<string, long> counts)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(redactor);
        var json = JsonSerializer.SerializeToUtf8Bytes(document, typeInfo);
        var redacted = JsonRedaction.Redact(json, new LineRedactor(redactor, counts));
        return ReferenceEquals(redacted, json) ? document : JsonSerializer.Deserialize(redacted, typeInfo)!;
    }
}
