using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Periscope.Agent.Redaction;

/// <summary>
/// Redacts a JSON document value by value: every string is decoded (so an escaped <c>\u0026sig=</c> or <c>\n</c> in a
/// PEM block is seen as the text it stands for), redacted line by line, and written back; the structure, names,
/// numbers and layout of the document are kept. Text that is not JSON is redacted as lines instead.
/// </summary>
internal static class JsonRedaction
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.Default };
    private static readonly JsonWriterOptions Compact = new() { Indented = false, Encoder = JavaScriptEncoder.Default };

    /// <summary>The redacted document; the same array when nothing was replaced.</summary>
    public static byte[] Redact(byte[] json, LineRedactor redactor)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(redactor);
        var before = redactor.Counts.Values.Sum();
        var output = new ArrayBufferWriter<byte>(json.Length + 256);
        try
        {
            var indented = json.AsSpan().IndexOf((byte)'\n') >= 0;
            using var writer = new Utf8JsonWriter(output, indented ? Indented : Compact);
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 256 });
            var secretObjects = new Stack<bool>(); // per open object: its "key"/"name" names a secret variable
            string? property = null;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject: writer.WriteStartObject(); secretObjects.Push(false); break;
                    case JsonTokenType.EndObject: writer.WriteEndObject(); secretObjects.TryPop(out _); break;
                    case JsonTokenType.StartArray: writer.WriteStartArray(); break;
                    case JsonTokenType.EndArray: writer.WriteEndArray(); break;
                    case JsonTokenType.PropertyName: property = reader.GetString()!; writer.WritePropertyName(property); continue;
                    case JsonTokenType.String:
                        var value = reader.GetString()!;
                        if (property is "key" or "name" && secretObjects.Count > 0 && DefaultRedactionRules.SecretName().IsMatch(value))
                        {
                            secretObjects.Pop();
                            secretObjects.Push(true); // {"key":"DB_PASSWORD","value":"…"}: the CRI's and Kubernetes' env form
                        }
                        else if (property == "value" && secretObjects.TryPeek(out var secret) && secret && !value.StartsWith(Redactor.MarkerPrefix, StringComparison.Ordinal))
                        {
                            redactor.Counts["secret-env"] = redactor.Counts.GetValueOrDefault("secret-env") + 1;
                            writer.WriteStringValue(redactor.Redactor.Marker("secret-env", value));
                            break;
                        }

                        writer.WriteStringValue(RedactString(value, redactor));
                        break;
                    case JsonTokenType.Number: writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true); break;
                    case JsonTokenType.True: writer.WriteBooleanValue(true); break;
                    case JsonTokenType.False: writer.WriteBooleanValue(false); break;
                    case JsonTokenType.Null: writer.WriteNullValue(); break;
                }

                property = null;
            }

            writer.Flush();
        }
        catch (JsonException)
        {
            return RedactText(json, redactor);
        }

        return redactor.Counts.Values.Sum() == before ? json : output.WrittenSpan.ToArray();
    }

    /// <summary>A string value: each of its lines through the redactor.</summary>
    public static string RedactString(string value, LineRedactor redactor)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(redactor);
        if (!value.Contains('\n', StringComparison.Ordinal))
        {
            return redactor.Redact(value);
        }

        var lines = value.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            lines[i] = redactor.Redact(lines[i]);
        }

        return string.Join('\n', lines);
    }

    private static byte[] RedactText(byte[] text, LineRedactor redactor)
    {
        using var output = new MemoryStream(text.Length + 256);
        using (var stream = new RedactingStream(output, redactor, leaveOpen: true))
        {
            stream.Write(text);
        }

        return output.ToArray();
    }
}
