using Periscope.Bundle.Facts;
using Periscope.Collector.Sources;
using Periscope.Testing;
using Xunit;

namespace Periscope.Collector.Tests.Sources;

public sealed class NodeBundleReaderTests
{
    [Fact]
    public void ForCorrelation_KeepsWhatTheRulesRead_DropsTheRest()
    {
        var ipam = new IpamRangeFacts("azure-vnet", "azure", "10.224.0.0/16", 30, 30);
        var sync = new TimeSyncFacts { State = "unsynchronised" };
        var dns = new DnsFacts { ClusterDns = ["10.0.0.10"] };
        var full = new FactsDocument
        {
            System = new SystemFacts { TimeSync = sync, Filesystems = [new FilesystemFacts { Path = "/", Role = "root" }], OsImage = "Ubuntu" },
            Kernel = new KernelFacts { Source = "kmsg" },
            Dns = dns,
            Cni = new CniFacts { ConfDirectory = "/etc/cni/net.d", Ipam = [ipam], Interfaces = [new InterfaceFacts { Name = "eth0" }] },
        };

        var kept = NodeBundleReader.ForCorrelation(full)!;

        Assert.Same(dns, kept.Dns);
        Assert.Equal([ipam], kept.Cni!.Ipam);
        Assert.Empty(kept.Cni.Interfaces);
        Assert.Same(sync, kept.System!.TimeSync);
        Assert.Empty(kept.System.Filesystems);
        Assert.Null(kept.System.OsImage);
        Assert.Null(kept.Kernel);
        Assert.Null(NodeBundleReader.ForCorrelation(null));
    }

    [Fact]
    public async Task Read_ZipReplacedAfterSealing_IsRejectedBySizeAgainstItsStatusRecord()
    {
        using var store = new TempDirectory();
        using var other = new TempDirectory();
        await TestBundles.WriteAsync(store.Path, "run-1", "n1");
        // A valid bundle of the same node and run, with more in it: sealed elsewhere and copied over the first.
        var replacement = await TestBundles.WriteAsync(other.Path, "run-1", "n1", [TestBundles.Finding("KERNEL_OOM_KILL")]);
        File.Copy(replacement, store.Combine("run-1", "n1.zip"), overwrite: true);

        var nodes = await new DirectoryBundleSource(store.Path).ReadRunAsync("run-1", TestContext.Current.CancellationToken);

        var node = Assert.Single(nodes);
        Assert.Contains("status record says", node.Rejected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_ZipChangedInPlaceAfterSealing_IsRejectedByItsSha256()
    {
        using var store = new TempDirectory();
        var zip = await TestBundles.WriteAsync(store.Path, "run-1", "n1");
        var bytes = await File.ReadAllBytesAsync(zip);
        bytes[10] ^= 0x01; // the first local header's modification time: same size, every entry still reads
        await File.WriteAllBytesAsync(zip, bytes);

        var nodes = await new DirectoryBundleSource(store.Path).ReadRunAsync("run-1", TestContext.Current.CancellationToken);

        Assert.Contains("sha256", Assert.Single(nodes).Rejected, StringComparison.Ordinal);
    }
}
