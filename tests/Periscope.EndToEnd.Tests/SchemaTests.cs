using System.IO.Compression;
using System.Text.Json;
using NJsonSchema;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>Real bundles and reports validate against the JSON Schemas published in docs/schemas.</summary>
public sealed class SchemaTests
{
    [Fact]
    public async Task RealBundleDocuments_ValidateAgainstPublishedSchemas()
    {
        using var store = new TempDirectory();
        var (_, stdout, _) = await CliRunner.AgentAsync("collect", "--host-root", Fixtures.Node("fault-node"), "--offline",
            CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store.Path, "--run-id", "schema-1", "--json");
        using var output = JsonDocument.Parse(stdout);
        var bundle = output.RootElement.GetProperty("bundle").GetString()!;

        using (var zip = ZipFile.OpenRead(bundle))
        {
            await AssertValidAsync("manifest", await ReadEntryAsync(zip, "manifest.json"));
            await AssertValidAsync("facts", await ReadEntryAsync(zip, "facts.json"));
            await AssertValidAsync("findings", await ReadEntryAsync(zip, "findings.json"));
        }

        await AssertValidAsync("status", await File.ReadAllTextAsync(output.RootElement.GetProperty("statusRecord").GetString()!));
        var (_, report, _) = await CliRunner.CollectorAsync("report", "--store", store.Path, "--format", "json");
        await AssertValidAsync("report", report);
    }

    [Fact]
    public async Task Schemas_RejectADocumentThatBreaksTheContract()
    {
        var schema = await JsonSchema.FromFileAsync(Fixtures.Docs("schemas", "findings.schema.json"));

        var errors = schema.Validate("""{"schemaVersion":"1.0","findings":[{"code":"x","severity":"fatal"}]}""");

        Assert.NotEmpty(errors);
    }

    /// <summary>The document validates against docs/schemas/NAME.schema.json (used by the other end-to-end tests too).</summary>
    internal static async Task AssertValidAsync(string name, string json)
    {
        var schema = await JsonSchema.FromFileAsync(Fixtures.Docs("schemas", $"{name}.schema.json"));
        var errors = schema.Validate(json);
        Assert.True(errors.Count == 0, $"{name}: " + string.Join("; ", errors.Select(e => $"{e.Path}: {e.Kind}")));
    }

    /// <summary>A zip entry's text.</summary>
    internal static async Task<string> ReadEntryAsync(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open());
        return await reader.ReadToEndAsync();
    }
}
