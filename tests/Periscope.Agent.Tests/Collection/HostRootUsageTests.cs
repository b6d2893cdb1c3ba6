using Periscope.Agent.Collection;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collection;

/// <summary>
/// Filesystem figures under a host root laid out like the DaemonSet's <c>/host</c>: a directory of the agent's own
/// filesystem with some node directories mounted into it (here small tmpfs mounts standing in for them). A node
/// directory that is not mounted must never be measured as the container's filesystem.
/// </summary>
public sealed class HostRootUsageTests
{
    private static async Task MountTmpfsAsync(string path, string size)
    {
        Directory.CreateDirectory(path);
        var (exit, _, stderr) = await TestProcess.RunAsync("mount", "-t", "tmpfs", "-o", $"size={size}", "periscope-test", path);
        Assert.True(exit == 0, $"mount tmpfs at {path}: {stderr}");
    }

    private static async Task UnmountAsync(string path) => await TestProcess.RunAsync("umount", "-l", path);

    [Fact]
    public async Task GetUsage_PodLikeRoot_MeasuresMountedNodeDirectories_AndRefusesTheContainersOwn()
    {
        Requires.Root();
        Requires.Tool("mount");
        using var root = new NodeRoot().Dir("/var/lib/containerd").Dir("/var/log");
        var pki = root.Real("/var/lib/kubelet/pki");
        var log = root.Real("/var/log");
        await MountTmpfsAsync(pki, "8m");
        await MountTmpfsAsync(log, "4m");
        try
        {
            var host = new HostRoot(root.Path);

            var kubelet = host.GetUsage("/var/lib/kubelet", out var kubeletProblem); // only its pki directory is mounted: measured through it
            var logs = host.GetUsage("/var/log", out var logsProblem);
            var containerd = host.GetUsage("/var/lib/containerd", out var containerdProblem); // a directory of the container's own filesystem
            var missing = host.GetUsage("/var/lib/docker", out var missingProblem);

            Assert.True(kubelet is not null, kubeletProblem);
            Assert.Equal(8L * 1024 * 1024, kubelet!.SizeBytes);
            Assert.Equal(4L * 1024 * 1024, logs!.SizeBytes);
            Assert.Null(logsProblem);
            Assert.Null(containerd);
            Assert.Contains("the node's /var/lib/containerd is not mounted into the agent's container", containerdProblem, StringComparison.Ordinal);
            Assert.Null(missing);
            Assert.Contains("not mounted", missingProblem, StringComparison.Ordinal);
        }
        finally
        {
            await UnmountAsync(pki);
            await UnmountAsync(log);
        }
    }

    [Fact]
    public async Task GetUsage_RootThatIsAMountOfTheNode_MeasuresTheNearestExistingDirectory()
    {
        Requires.Root();
        Requires.Tool("mount");
        using var temp = new TempDirectory();
        var mounted = temp.Combine("node");
        await MountTmpfsAsync(mounted, "6m");
        try
        {
            Directory.CreateDirectory(Path.Combine(mounted, "var", "lib"));
            var host = new HostRoot(mounted);

            var usage = host.GetUsage("/var/lib/containerd", out var problem); // missing: the filesystem holding /var/lib

            Assert.True(usage is not null, problem);
            Assert.Equal(6L * 1024 * 1024, usage!.SizeBytes);
        }
        finally
        {
            await UnmountAsync(mounted);
        }
    }
}
