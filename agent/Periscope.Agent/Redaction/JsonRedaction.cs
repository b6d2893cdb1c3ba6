using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Periscope.Agent.Redaction;

/// <summary>
/// Redacts a JSON document value by value: every string is decoded (so an escaped <c>\u0026sig=</c> or <c>\n</c> in a
/// PEM block is seen as the text it stands for), redacted line by line, and written back; the structure, names,
/// numbers and layout of the document are kept. A string under a property whose name names a secret
/// (<c>"password"</c>, <c>"discordToken"</c>) is judged by the key-name classifier and the placeholder filter, as the
/// line recogniser judges <c>password=…</c>. A first pass over the document finds what only the whole object tells:
/// the value of a <c>{"name"|"key": "DB_PASSWORD", "value": …}</c> pair in either order, and every value under
/// <c>data</c> / <c>stringData</c> of an object of <c>"kind": "Secret"</c> (wherever <c>kind</c> stands). Text that is
/// not JSON is redacted as lines instead.
/// </summary>
internal static class JsonRedaction
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.Default };
    private static readonly JsonWriterOptions Compact = new() { Indented = false, Encoder = JavaScriptEncoder.Default };
    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 256 };

    /// <summary>The redacted document; the same array when nothing was replaced.</summary>
    public static byte[] Redact(byte[] json, LineRedactor redactor)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(redactor);
        var before = redactor.Counts.Values.Sum();
        var output = new ArrayBufferWriter<byte>(json.Length + 256);
        try
        {
            var planned = Plan(json);
            var indented = json.AsSpan().IndexOf((byte)'\n') >= 0;
            using var writer = new Utf8JsonWriter(output, indented ? Indented : Compact);
            var reader = new Utf8JsonReader(json, ReaderOptions);
            var arrays = new Stack<ArrayState>(); // per open array: the property that holds it, the flag before
            string? property = null;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject: writer.WriteStartObject(); arrays.Push(new ArrayState(null, IsObject: true)); break;
                    case JsonTokenType.EndObject: writer.WriteEndObject(); arrays.TryPop(out _); break;
                    case JsonTokenType.StartArray: writer.WriteStartArray(); arrays.Push(new ArrayState(property, IsObject: false)); break;
                    case JsonTokenType.EndArray: writer.WriteEndArray(); arrays.TryPop(out _); break;
                    case JsonTokenType.PropertyName: property = reader.GetString()!; writer.WritePropertyName(property); continue;
                    case JsonTokenType.String:
                        var value = reader.GetString()!;
                        var inArray = arrays.TryPeek(out var array) && !array.IsObject;
                        var owner = inArray ? array!.Property : property;
                        var key = owner is null ? KeyClass.None : SecretKeyNames.Classify(owner);
                        if (planned.TryGetValue(reader.TokenStartIndex, out var rule))
                        {
                            writer.WriteStringValue(Replace(redactor, rule, value));
                        }
                        else if (key.IsSecret && SecretValues.IsSecret(value, key))
                        {
                            writer.WriteStringValue(Replace(redactor, key.Rule, value));
                        }
                        else if (inArray && array!.Flag.IsSecret && SecretValues.IsSecret(value, array.Flag))
                        {
                            writer.WriteStringValue(Replace(redactor, array.Flag.Rule, value)); // ["--token", "X"]
                        }
                        else
                        {
                            writer.WriteStringValue(RedactString(value, redactor));
                        }

                        if (inArray)
                        {
                            array!.Flag = value.StartsWith('-') && !value.Contains('=', StringComparison.Ordinal) ? SecretKeyNames.Classify(value.AsSpan().TrimStart('-')) : KeyClass.None;
                        }

                        break;
                    case JsonTokenType.Number: writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true); break;
                    case JsonTokenType.True: writer.WriteBooleanValue(true); break;
                    case JsonTokenType.False: writer.WriteBooleanValue(false); break;
                    case JsonTokenType.Null: writer.WriteNullValue(); break;
                }

                property = null;
            }

            writer.Flush();
            if (json.Length > 0 && json[^1] == '\n')
            {
                output.Write("\n"u8); // the writer ends at the last brace: the file's last newline is kept
            }
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

    private static string Replace(LineRedactor redactor, string rule, string value)
    {
        redactor.Counts[rule] = redactor.Counts.GetValueOrDefault(rule) + 1;
        return redactor.Redactor.Marker(rule, value);
    }

    /// <summary>
    /// The first pass: the string tokens (by their start in the document) that only their object shows to be secrets —
    /// a pair's value, a Secret's data — each with its rule.
    /// </summary>
    private static Dictionary<long, string> Plan(byte[] json)
    {
        var planned = new Dictionary<long, string>();
        var frames = new Stack<ObjectFrame>();
        var reader = new Utf8JsonReader(json, ReaderOptions);
        string? property = null;
        var depthOfArrays = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    var parent = frames.Count > 0 && depthOfArrays == 0 ? frames.Peek() : null;
                    frames.Push(new ObjectFrame
                    {
                        DataOf = parent is not null && property is "data" or "stringData" ? parent : null,
                        IsStringData = property == "stringData",
                        ArraysAround = depthOfArrays,
                    });
                    depthOfArrays = 0;
                    break;
                case JsonTokenType.EndObject:
                    var frame = frames.Pop();
                    depthOfArrays = frame.ArraysAround;
                    frame.Conclude(planned);
                    break;
                case JsonTokenType.StartArray:
                    depthOfArrays++;
                    break;
                case JsonTokenType.EndArray:
                    depthOfArrays--;
                    break;
                case JsonTokenType.PropertyName:
                    property = reader.GetString();
                    continue;
                case JsonTokenType.String when frames.Count > 0 && depthOfArrays == 0 && property is not null:
                    var current = frames.Peek();
                    var value = reader.GetString()!;
                    if (current.DataOf is { } owner)
                    {
                        owner.Data.Add((reader.TokenStartIndex, value, current.IsStringData));
                    }
                    else if (property is "name" or "key" or "Name" or "Key")
                    {
                        current.Name = SecretKeyNames.Classify(value);
                    }
                    else if (property is "value" or "Value")
                    {
                        current.ValueToken = reader.TokenStartIndex;
                        current.Value = value;
                    }
                    else if (property == "kind" && value == "Secret")
                    {
                        current.IsSecret = true;
                    }

                    break;
            }

            property = null;
        }

        return planned;
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

    private sealed record ArrayState(string? Property, bool IsObject)
    {
        public KeyClass Flag { get; set; } = KeyClass.None;
    }

    private sealed class ObjectFrame
    {
        public ObjectFrame? DataOf { get; init; }

        public bool IsStringData { get; init; }

        public int ArraysAround { get; init; }

        public KeyClass Name { get; set; } = KeyClass.None;

        public long ValueToken { get; set; } = -1;

        public string? Value { get; set; }

        public bool IsSecret { get; set; }

        public List<(long Token, string Value, bool StringData)> Data { get; } = [];

        public void Conclude(Dictionary<long, string> planned)
        {
            if (Name.IsSecret && ValueToken >= 0 && SecretValues.IsSecret(Value, Name))
            {
                planned[ValueToken] = KeyValueRecognizer.PairRule;
            }

            foreach (var (token, value, stringData) in Data)
            {
                if ((IsSecret || stringData || SecretValues.LooksBase64(value)) && value.Length > 0 && !value.StartsWith(Redactor.MarkerPrefix, StringComparison.Ordinal))
                {
                    planned[token] = LineRedactor.SecretDataRule;
                }
            }
        }
    }
}
