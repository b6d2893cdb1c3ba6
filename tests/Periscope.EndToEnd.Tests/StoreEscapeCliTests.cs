using Periscope.Testing;
using Xunit;

namespace Periscope.EndToEnd.Tests;

/// <summary><c>report</c> and <c>verify</c> stay inside the store and never block on what is in it.</summary>
public sealed class StoreEscapeCliTests
{
    [Fact]
    public async Task ReportAndVerify_SymlinkedBundleAndFifoStatus_RejectEachAndFinish()
    {
        var ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        var store = temp.Combine("store");
        await TestBundles.WriteAsync(store, "run-1", "good");
        await File.WriteAllTextAsync(temp.Combine("shadow"), "root:$6$secret-hash:19000:0:99999:7:::\n");
        await TestBundles.WriteAsync(store, "run-1", "evil"); // a sealed bundle and its status record,
        File.Delete(Path.Combine(store, "run-1", "evil.zip")); // then the zip swapped for a link to outside
        File.CreateSymbolicLink(Path.Combine(store, "run-1", "evil.zip"), temp.Combine("shadow"));
        await TestBundles.WriteAsync(store, "run-1", "piped", withStatus: false);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(store, "run-1", "piped.status.json")]))
        {
            await mkfifo.WaitForExitAsync(ct);
        }

        var (exit, markdown, stderr) = await CliRunner.CollectorAsync("report", "--store", store, "--run-id", "run-1", "--format", "markdown", "--out", temp.Combine("r.md"))
            .WaitAsync(TimeSpan.FromSeconds(60), ct);
        var (verifyExit, verifyOut, _) = await CliRunner.CollectorAsync("verify", "--store", store, "--run-id", "run-1")
            .WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.Equal(3, exit); // rejected nodes make the run unknown; the report is written with every node
        Assert.Empty(markdown);
        Assert.Contains("run-1/evil.zip: rejected:", stderr, StringComparison.Ordinal);
        Assert.Contains("symbolic link", stderr, StringComparison.Ordinal);
        Assert.Contains("run-1/piped.zip: rejected: status record could not be read", stderr, StringComparison.Ordinal);
        Assert.Contains("not a regular file", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-hash", await File.ReadAllTextAsync(temp.Combine("r.md"), ct), StringComparison.Ordinal);
        Assert.Equal(2, verifyExit);
        Assert.Contains("ok         run-1/good.zip", verifyOut, StringComparison.Ordinal);
        Assert.Contains("corrupt    run-1/evil.zip", verifyOut, StringComparison.Ordinal);
        Assert.Contains("corrupt    run-1/piped.zip", verifyOut, StringComparison.Ordinal);
    }
}
