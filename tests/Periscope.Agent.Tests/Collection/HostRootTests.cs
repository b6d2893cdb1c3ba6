using Periscope.Agent.Collection;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collection;

public sealed class HostRootTests
{
    [Fact]
    public async Task Resolve_AbsoluteSymlinkTarget_IsReRootedUnderTheRoot()
    {
        using var root = new NodeRoot()
            .File("/var/lib/kubelet/pki/kubelet-client-2026.pem", "node cert")
            .Symlink("/var/lib/kubelet/pki/kubelet-client-current.pem", "/var/lib/kubelet/pki/kubelet-client-2026.pem");
        var host = new HostRoot(root.Path);

        var text = await host.TryReadTextAsync("/var/lib/kubelet/pki/kubelet-client-current.pem", 1024, CancellationToken.None);

        Assert.Equal("node cert", text);
        Assert.Equal(root.Real("/var/lib/kubelet/pki/kubelet-client-2026.pem"), host.Resolve("/var/lib/kubelet/pki/kubelet-client-current.pem"));
    }

    [Fact]
    public void Resolve_SymlinkToAbsoluteHostPath_NeverEscapesTheRoot()
    {
        using var root = new NodeRoot().Symlink("/etc/evil", "/etc/passwd");
        var host = new HostRoot(root.Path);

        Assert.Equal(root.Real("/etc/passwd"), host.Resolve("/etc/evil"));
        Assert.False(host.FileExists("/etc/evil")); // the root has no etc/passwd; the agent's own is never read
    }

    [Fact]
    public void Resolve_DotDot_StopsAtTheRoot()
    {
        using var root = new NodeRoot();
        var host = new HostRoot(root.Path);

        Assert.Equal(root.Real("/etc/hostname"), host.Resolve("../../../../etc/hostname"));
    }

    [Fact]
    public void Resolve_PathAlreadyUnderTheRoot_IsAcceptedAsIs()
    {
        using var root = new NodeRoot().File("/var/log/pods/x/0.log", "log");
        var host = new HostRoot(root.Path);

        Assert.Equal(root.Real("/var/log/pods/x/0.log"), host.Resolve(root.Real("/var/log/pods/x/0.log")));
    }

    [Fact]
    public void Resolve_SymlinkLoop_FailsInsteadOfSpinning()
    {
        using var root = new NodeRoot().Symlink("/a", "/b").Symlink("/b", "/a");

        Assert.Throws<IOException>(() => new HostRoot(root.Path).Resolve("/a/file"));
    }

    [Fact]
    public void OpenRead_Fifo_IsRefusedRatherThanBlocking()
    {
        using var root = new NodeRoot().Dir("/run");
        Requires.That(mkfifo(root.Real("/run/pipe"), Convert.ToUInt32("600", 8)) == 0, "mkfifo failed");

        Assert.Throws<IOException>(() => new HostRoot(root.Path).OpenRead("/run/pipe"));
    }

    [Fact]
    public void IsCharacterDevice_DevNullAndRegularFile_AreTold()
    {
        using var root = new NodeRoot().File("/dev/kmsg", "captured");

        Assert.True(new HostRoot("/").IsCharacterDevice("/dev/null"));
        Assert.False(new HostRoot(root.Path).IsCharacterDevice("/dev/kmsg"));
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);
}
