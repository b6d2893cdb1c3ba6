using System.Text;
using System.Text.Json;
using Xunit;

namespace Periscope.Agent.Tests.Redaction;

/// <summary>
/// Each secret form in each file syntax: every key name of the vocabulary's kinds (camelCase, suffixed, numbered,
/// short, kebab, upper-case env names) with values that hold spaces, quotes, brackets and delimiters, written as ini,
/// env, shell, YAML (plain, quoted, block), JSON (as a document and as text, compact and pretty), escaped JSON inside a
/// string, name/value pairs (one line, two lines), XML (element, attribute pair, text on the next line), TOML, log
/// lines and command lines — none of the value may survive, in the streaming path or the JSON path. Placeholders and
/// references in the same places must survive byte for byte.
/// </summary>
public sealed class RedactionSyntaxTests
{
    private static readonly string[] Keys =
    [
        "password", "db_pass", "discordToken", "certKey", "kubeadmToken", "AWSToken", "password_super_secure", "bot_token1",
        "creds", "private-key", "user_auth", "credentials", "clientSecret", "apiKey", "Pwd", "PASSPHRASE", "X_ACCESSKEY",
        "X_ACCESS_KEY", "secret", "auth_token", "sasToken", "SMTP_PASSWD", "storageAccountKey", "refresh-token2",
    ];

    private static readonly string[] Values =
    [
        "Zq8#mK2$vL9!wX4", "quixotic zebracorn flume", "Kr7v{{hQ2p(x)9;zw7T,&q<>Lm3n", "AQBvaBFZAAAAABAA9VHgwCg3rWn8fMaX8KL01A==",
        "it's \"Vexqr\" Wompl", "p@ss:w0rd/Jy7t?k=v&x=Hq2", "Tm9kZUxvY2FsU2VjcmV0",
    ];

    private static readonly string[] Placeholders =
    [
        "${DB_PASSWORD}", "$(TOKEN_VALUE)", "{{ .Values.db.password }}", "var.db_password", "/etc/app/secrets/token",
        "api-key", "DB_PASSWORD", "%APP_SECRET%", "true", "****", "os.getenv(\"DB_PASSWORD\")", "process.env.API_TOKEN",
        "kube-system/azure-cloud-provider", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)",
    ];

    public static TheoryData<string> SyntaxNames() => [.. Syntaxes.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(SyntaxNames))]
    public void EverySecretForm_InThisSyntax_LeavesNothingOfTheValue(string syntax)
    {
        var form = Syntaxes.Single(s => s.Name == syntax);
        var failures = new List<string>();
        foreach (var key in Keys)
        {
            foreach (var value in Values)
            {
                var text = form.Write(key, value);
                if (text is null)
                {
                    continue; // the syntax cannot hold this value
                }

                var (output, _) = RedactionTestSupport.Redact(Encoding.UTF8.GetBytes(text), form.FileName);
                var seen = Seen(output, form.FileName);
                var left = Fragments(value).Where(f => seen.Contains(f, StringComparison.Ordinal) && !text.Replace(Escaped(value, form), string.Empty, StringComparison.Ordinal).Contains(f, StringComparison.Ordinal)).ToList();
                if (left.Count > 0)
                {
                    failures.Add($"{key} = {value}: kept {string.Join(", ", left)}\n  IN  {text.Replace("\n", "\\n", StringComparison.Ordinal)}\n  OUT {Encoding.UTF8.GetString(output).Replace("\n", "\\n", StringComparison.Ordinal)}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} leaks in {syntax}:\n{string.Join("\n", failures.Take(12))}");
    }

    [Theory]
    [MemberData(nameof(SyntaxNames))]
    public void PlaceholdersAndReferences_InThisSyntax_StayReadable(string syntax)
    {
        var form = Syntaxes.Single(s => s.Name == syntax);
        var changed = new List<string>();
        var total = 0;
        foreach (var key in Keys)
        {
            foreach (var placeholder in Placeholders)
            {
                var text = form.Write(key, placeholder);
                if (text is null || (form.Name.StartsWith("xml", StringComparison.Ordinal) && placeholder.Contains('"', StringComparison.Ordinal)))
                {
                    continue;
                }

                total++;
                var (output, counts) = RedactionTestSupport.Redact(Encoding.UTF8.GetBytes(text), form.FileName);
                if (counts.Count > 0)
                {
                    changed.Add($"{key} = {placeholder}: {string.Join(", ", counts.Keys)}\n  IN  {text.Replace("\n", "\\n", StringComparison.Ordinal)}\n  OUT {Encoding.UTF8.GetString(output).Replace("\n", "\\n", StringComparison.Ordinal)}");
                }
            }
        }

        Assert.True(changed.Count == 0, $"{changed.Count} of {total} placeholders changed in {syntax}:\n{string.Join("\n", changed.Take(12))}");
    }

    [Theory]
    [MemberData(nameof(SyntaxNames))]
    public void SameText_GivesTheSameResult_InTheStreamAndInsideAJsonDocument(string syntax)
    {
        var form = Syntaxes.Single(s => s.Name == syntax);
        foreach (var key in Keys.Take(8))
        {
            foreach (var value in Values.Concat(Placeholders.Take(4)))
            {
                var text = form.Write(key, value);
                if (text is null)
                {
                    continue;
                }

                // Evidence at collect time (a stream of lines) and the same text as a string of a JSON document
                // (findings, facts, the CRI's answers) must come out the same.
                var (streamed, _) = RedactionTestSupport.Redact(Encoding.UTF8.GetBytes(text), "evidence.log");
                var document = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, string> { ["detail"] = text }));
                var (redacted, _) = RedactionTestSupport.Redact(document, "findings.json");
                var inDocument = JsonDocument.Parse(redacted).RootElement.GetProperty("detail").GetString();

                Assert.Equal(Encoding.UTF8.GetString(streamed), inDocument);
            }
        }
    }

    /// <summary>The value's letters-and-digits runs of four or more: what must not be left anywhere.</summary>
    private static IEnumerable<string> Fragments(string value)
    {
        var builder = new StringBuilder();
        foreach (var c in value + " ")
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                builder.Append(c);
                continue;
            }

            if (builder.Length >= 4)
            {
                yield return builder.ToString();
            }

            builder.Clear();
        }
    }

    private static string Escaped(string value, Syntax form) => form.Name.StartsWith("xml", StringComparison.Ordinal) ? Xml(value) : value;

    /// <summary>The output as a reader sees it: JSON strings decoded, in text escaped quotes as quotes.</summary>
    private static string Seen(byte[] output, string name)
        => name.EndsWith(".json", StringComparison.Ordinal) ? RedactionTestSupport.Decoded(output, name) : Encoding.UTF8.GetString(output).Replace("\\\"", "\"", StringComparison.Ordinal);

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A JSON string as kubectl and Go write it (quotes as <c>\"</c>).</summary>
    private static string Json(string value) => JsonSerializer.Serialize(value, Relaxed);

    private static string Xml(string value) => value.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);

    private static string Upper(string key) => string.Concat(key.Select((c, i) => i > 0 && char.IsUpper(c) && char.IsLower(key[i - 1]) ? "_" + c : c.ToString())).Replace('-', '_').ToUpperInvariant();

    private static string Kebab(string key) => string.Concat(key.Select((c, i) => i > 0 && char.IsUpper(c) && char.IsLower(key[i - 1]) ? "-" + c : c.ToString())).Replace('_', '-').ToLowerInvariant();

    private static bool Plain(string value) => !value.Any(c => c is ' ' or '"' or '\'' or '\\' or '#' or '$' or '`' or '&' or ';' or '<' or '>' or '(' or ')' or '{' or '}' or '|' or '*' or '?' or '!');

    private static string Shell(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string Quoted(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private sealed record Syntax(string Name, string FileName, Func<string, string, string?> Write);

    private static readonly Syntax[] Syntaxes =
    [
        new("ini", "app.ini", (k, v) => $"[database]\nhost = db.internal\n{k} = {v}\nport = 5432\n"),
        new("env-file", "app.env", (k, v) => $"HOME=/root\n{Upper(k)}={(Plain(v) ? v : Quoted(v))}\nLANG=C.UTF-8\n"),
        new("shell-export", "profile.sh", (k, v) => $"#!/bin/sh\nexport {Upper(k)}={Shell(v)}\nexec /app/run\n"),
        new("yaml-plain", "values.yaml", (k, v) => v.Contains(": ", StringComparison.Ordinal) || v.Contains(" #", StringComparison.Ordinal) || "\"'{[&*!|>%@`".Contains(v[0], StringComparison.Ordinal) ? null : $"app:\n  name: shop\n  {k}: {v}\n  replicas: 3\n"),
        new("yaml-quoted", "values.yaml", (k, v) => $"app:\n  {k}: {Quoted(v)}\n  replicas: 3\n"),
        new("yaml-single-quoted", "values.yaml", (k, v) => $"- {k}: '{v.Replace("'", "''", StringComparison.Ordinal)}'\n  other: 1\n"),
        new("yaml-block", "values.yaml", (k, v) => $"app:\n  {k}: |\n    {v}\n  replicas: 3\n"),
        new("json-document", "config.json", (k, v) => $"{{\"app\": {{\"name\": \"shop\", \"{k}\": {Json(v)}, \"replicas\": 3}}}}"),
        new("json-pretty-text", "config.log", (k, v) => $"{{\n  \"app\": {{\n    \"name\": \"shop\",\n    \"{k}\": {Json(v)},\n    \"replicas\": 3\n  }}\n}}\n"),
        new("json-compact-text", "config.log", (k, v) => $"{{\"app\":{{\"name\":\"shop\",\"{k}\":{Json(v)},\"replicas\":3}}}}\n"),
        new("json-escaped-in-text", "events.log", (k, v) => $"annotations: {{\"kubectl.kubernetes.io/last-applied-configuration\": {Json($"{{\"{k}\":{Json(v)},\"replicas\":3}}")}}}\n"),
        new("json-escaped-in-document", "pod.json", (k, v) => $"{{\"metadata\": {{\"annotations\": {{\"kubectl.kubernetes.io/last-applied-configuration\": {Json($"{{\"{k}\":{Json(v)},\"replicas\":3}}")}}}}}}}"),
        new("env-pair-document", "container.json", (k, v) => $"{{\"env\": [{{\"name\": \"HOME\", \"value\": \"/root\"}}, {{\"name\": \"{Upper(k)}\", \"value\": {Json(v)}}}]}}"),
        new("env-pair-value-first-document", "container.json", (k, v) => $"{{\"env\": [{{\"value\": {Json(v)}, \"name\": \"{Upper(k)}\"}}]}}"),
        new("env-pair-text", "container.log", (k, v) => $"env: [{{\"name\":\"{Upper(k)}\",\"value\":{Json(v)}}}]\n"),
        new("env-pair-escaped", "events.log", (k, v) => $"msg={Json($"spec: {{\"env\":[{{\"name\":\"{Upper(k)}\",\"value\":{Json(v)}}}]}}")}\n"),
        new("env-pair-yaml-two-lines", "pod.yaml", (k, v) => $"    env:\n    - name: {Upper(k)}\n      value: {Quoted(v)}\n    - name: LANG\n      value: C\n"),
        new("env-pair-json-two-lines", "pod.log", (k, v) => $"{{\n  \"name\": \"{Upper(k)}\",\n  \"value\": {Json(v)}\n}}\n"),
        new("go-struct", "kubelet.log", (k, v) => Plain(v) ? $"I1120 10:00:00.000000 2211 kuberuntime.go:1] env {{Name:{Upper(k)} Value:{v} ValueFrom:nil}}\n" : null),
        new("xml-element", "settings.xml", (k, v) => $"<settings>\n  <{k}>{Xml(v)}</{k}>\n</settings>\n"),
        new("xml-element-next-line", "settings.xml", (k, v) => $"<settings>\n  <{k}>\n    {Xml(v)}\n  </{k}>\n</settings>\n"),
        new("xml-add", "web.config", (k, v) => $"<appSettings>\n  <add key=\"{k}\" value=\"{Xml(v)}\" />\n</appSettings>\n"),
        new("toml", "config.toml", (k, v) => $"[registry]\n{k} = {Quoted(v)}\n"),
        new("log-key-value", "app.log", (k, v) => $"2025-11-20T10:00:00Z level=info msg=\"connecting\" {k}={(Plain(v) ? v : Quoted(v))} retries=3\n"),
        new("log-colon", "app.log", (k, v) => Plain(v) ? $"Nov 20 10:00:00 node app[812]: loaded settings, {k}: {v}, retries: 3\n" : null),
        new("command-line-space", "cmdline.txt", (k, v) => $"/usr/bin/app --verbose --{Kebab(k)} {Shell(v)} --port 8080\n"),
        new("command-line-equals", "cmdline.txt", (k, v) => Plain(v) ? $"/usr/bin/app --{Kebab(k)}={v} --port 8080\n" : $"/usr/bin/app --{Kebab(k)}={Shell(v)} --port 8080\n"),
        new("args-yaml", "pod.yaml", (k, v) => $"    args:\n    - --{Kebab(k)}\n    - {Quoted(v)}\n    - --port=8080\n"),
        new("args-json", "pod.json", (k, v) => $"{{\"args\": [\"--{Kebab(k)}\", {Json(v)}, \"--port=8080\"]}}"),
        new("source-code", "main.py", (k, v) => $"def connect():\n    {k} = {Quoted(v)}\n    return {k}\n"),
        new("properties", "application.properties", (k, v) => $"spring.datasource.url=jdbc:postgresql://db/shop\nspring.datasource.{k}={v}\n"),
    ];
}
