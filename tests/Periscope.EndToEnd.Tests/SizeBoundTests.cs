using System.IO.Compression;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary>The bundle's size bounds: newest part of each large file kept from a line start, cuts recorded, evidence rebased.</summary>
public sealed class SizeBoundTests
{
    [Fact]
    public async Task Collect_WithSmallCaps_KeepsTheNewestLinesRecordsTheCutsAndRebasesEvidence()
    {
        using var store = new TempDirectory();
        var whole = await CollectAsync(store.Path, "whole", null);
        var bounded = await CollectAsync(store.Path, "bounded", o =>
        {
            o.MaxFileBytes = 4096;
            o.MaxBundleEvidenceBytes = 10_000;
        });

        using var full = BundleReader.Open(File.OpenRead(whole), "fault-node");
        using var cut = BundleReader.Open(File.OpenRead(bounded), "fault-node");
        Assert.Empty(cut.VerifyAll());
        var files = cut.Manifest.Collectors.SelectMany(c => c.Files).ToList();
        Assert.All(files, f => Assert.True(f.Size <= 4096, $"{f.Path} {f.Size}"));
        Assert.True(files.Sum(f => f.Size) <= 10_000, $"{files.Sum(f => f.Size)} bytes of evidence");

        var kmsg = files.Single(f => f.Path == "kernel/kmsg.log");
        Assert.True(kmsg.Offset > 0 && kmsg.OriginalSize > kmsg.KeptSize && kmsg.KeptSize == kmsg.Size, JsonSerializer.Serialize(kmsg));
        Assert.Contains("kept the newest", kmsg.Note, StringComparison.Ordinal);
        var original = await ReadAsync(full, "kernel/kmsg.log");
        var kept = await ReadAsync(cut, "kernel/kmsg.log");
        Assert.Equal(original[(int)kmsg.Offset!.Value..], kept); // the newest part, byte for byte
        Assert.Equal('\n', original[(int)kmsg.Offset.Value - 1]); // from the start of a line

        // Every evidence line still points at the same text; references into the dropped part are gone.
        var originalLines = original.Split('\n');
        var keptLines = kept.Split('\n');
        var dropped = originalLines.Length - keptLines.Length;
        var rebased = 0;
        foreach (var finding in cut.ReadFindings().Findings)
        {
            var before = full.ReadFindings().Findings.Single(f => f.Code == finding.Code && f.Subject == finding.Subject);
            foreach (var evidence in finding.Evidence.Where(e => e.File == "kernel/kmsg.log"))
            {
                Assert.Equal(keptLines[evidence.Line!.Value - 1], originalLines[evidence.Line.Value - 1 + dropped]);
                Assert.Contains(before.Evidence, e => e.Line == evidence.Line + dropped);
                rebased++;
            }

            Assert.Equal(before.Evidence.Count(e => e.File != "kernel/kmsg.log" || e.Line > dropped), finding.Evidence.Count);
        }

        Assert.True(rebased > 0);
    }

    private static async Task<string> CollectAsync(string store, string runId, Action<RunOptions>? options)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await Periscope.Agent.Cli.AgentCli.RunAsync(
            ["collect", "--host-root", Fixtures.Node("fault-node"), "--offline", CliRunner.FixtureWindow, CliRunner.FixtureWindowEnd, "--out", store, "--run-id", runId, "--json"],
            stdout, stderr, options is null ? null : services => services.Configure(options));
        Assert.True(exit == 2, stderr.ToString());
        return JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("bundle").GetString()!;
    }

    private static async Task<string> ReadAsync(BundleReader reader, string entry)
    {
        using var text = new StreamReader(reader.OpenEntry(entry));
        return await text.ReadToEndAsync();
    }
}
