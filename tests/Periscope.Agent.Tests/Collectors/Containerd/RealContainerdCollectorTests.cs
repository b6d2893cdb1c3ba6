using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Agent.Collection.Cri;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Containerd;

/// <summary>The containerd collector against a real containerd: these states are never faked.</summary>
[Collection(RealContainerdTests.Name)]
public sealed class RealContainerdCollectorTests(RealContainerd containerd)
{
    [Fact]
    public async Task Collect_RunningAndExitedContainers_AreReportedWithExitCodeAndLogTail()
    {
        containerd.Require();
        using var cri = new CriClient(containerd.Socket, TimeSpan.FromSeconds(30));
        var sandbox = await containerd.RunSandboxAsync(cri, "shop", "web-1", Guid.NewGuid().ToString());
        var running = await RealContainerd.StartContainerAsync(cri, sandbox, "web", 0, ["/bin/busybox", "sleep", "3600"]);
        var failing = await RealContainerd.StartContainerAsync(cri, sandbox, "init", 0, ["/bin/sh", "-c", "echo cannot open config >&2; exit 2"]);
        var exited = await RealContainerd.WaitExitedAsync(cri, failing);

        var (observations, facts, result) = await CollectAsync();

        Assert.Equal(2, exited.ExitCode);
        Assert.Equal("ok", facts.Reachability);
        Assert.Equal("containerd", facts.RuntimeName);
        Assert.Equal("running", facts.Containers.Single(c => c.Id == running).State);
        var init = facts.Containers.Single(c => c.Id == failing);
        Assert.Equal(("exited", 2, "shop", "web-1", "init"), (init.State, init.ExitCode!.Value, init.Namespace!, init.Pod!, init.Name));
        var tail = result.Files.Single(f => f.BundlePath == "containerd/logs/shop_web-1_init_0.log");
        Assert.Contains("cannot open config", await File.ReadAllTextAsync(tail.StagedPath), StringComparison.Ordinal);
        // One failure is not a loop. The runtime is shared by this collection, so only this pod's containers count.
        Assert.DoesNotContain(observations, o => o.Code == "CONTAINER_CRASHLOOP" && o.Subject.Id.StartsWith("shop/web-1/", StringComparison.Ordinal));
        Assert.True(facts.Images >= 2, $"{facts.Images} images"); // the workload image and the sandbox image
        Assert.NotEmpty(Assert.Single(facts.ImageFilesystems).Mountpoint);
    }

    [Fact]
    public async Task Collect_ContainerRestartedWithRisingAttempts_IsACrashLoop()
    {
        containerd.Require();
        using var cri = new CriClient(containerd.Socket, TimeSpan.FromSeconds(30));
        var sandbox = await containerd.RunSandboxAsync(cri, "shop", "worker-1", Guid.NewGuid().ToString());
        for (uint attempt = 0; attempt <= 3; attempt++)
        {
            // The kubelet re-creates a crashing container with a rising attempt and restart-count annotation.
            var id = await RealContainerd.StartContainerAsync(cri, sandbox, "worker", attempt, ["/bin/sh", "-c", "echo boom; exit 1"]);
            await RealContainerd.WaitExitedAsync(cri, id);
        }

        var (observations, _, _) = await CollectAsync();

        var loop = Assert.Single(observations, o => o.Code == "CONTAINER_CRASHLOOP" && o.Subject.Id == "shop/worker-1/worker");
        Assert.Equal("3", loop.Attributes["restartCount"]);
        Assert.Equal("1", loop.Attributes["exitCode"]);
    }

    [Fact]
    public async Task Collect_ContainerOverItsMemoryLimit_IsOneOomStoryWithTheKernelsKill()
    {
        containerd.Require();
        Periscope.Testing.Requires.Root();
        using var cri = new CriClient(containerd.Socket, TimeSpan.FromSeconds(30));
        var uid = Guid.NewGuid().ToString();

        // A kubelet-style cgroup parent, so the kernel's OOM record names the pod uid and the container id.
        var sandbox = await containerd.RunSandboxAsync(cri, "shop", "cache-1", uid, cgroupParent: $"/kubepods/burstable/pod{uid}");
        var id = await RealContainerd.StartContainerAsync(cri, sandbox, "cache", 0,
            ["/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], memoryLimit: 16 * 1024 * 1024);
        var status = await RealContainerd.WaitExitedAsync(cri, id);

        var (observations, _, runtimeResult) = await CollectAsync();
        var kernelResult = await CollectorHarness.RunAsync(
            new Periscope.Agent.Collectors.Kernel.KernelCollector(Options.Create(new Periscope.Agent.Collectors.Kernel.KernelCollectorOptions()), NullLogger<Periscope.Agent.Collectors.Kernel.KernelCollector>.Instance),
            new HostRoot("/"), since: DateTimeOffset.UtcNow.AddMinutes(-10));
        var findings = Periscope.Agent.Analysis.NodeAnalyzer.Analyze([kernelResult, runtimeResult with { Name = "containerd" }]);

        // containerd may handle the exit before the cgroup's OOM event and say Error: the story must hold either way.
        Assert.Equal(137, status.ExitCode);
        Assert.Contains(status.Reason, new[] { "OOMKilled", "Error" });
        Assert.Equal(id, Assert.Single(observations, o => o.Code == "CONTAINER_OOMKILLED" && o.Subject.Id == "shop/cache-1/cache").Attributes["containerId"]);
        Assert.Contains(kernelResult.Observations, o => o.Code == "KERNEL_OOM_KILL" && o.Subject.Id == id); // the kernel saw it too
        var story = Assert.Single(findings, f => f.Code == "CONTAINER_OOMKILLED" && f.Subject.Id == "shop/cache-1/cache");
        Assert.Equal("busybox", story.Attributes["kernel.process"]);
        Assert.True(long.Parse(story.Attributes["kernel.anonRssKb"], global::System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.DoesNotContain(findings, f => f.Code == "KERNEL_OOM_KILL" && f.Subject.Id == id); // one story, not two
    }

    [Fact]
    public async Task Collect_NetworkReady_FollowsTheCniConfig()
    {
        containerd.Require();
        foreach (var file in Directory.EnumerateFiles(containerd.CniConfDir))
        {
            File.Delete(file);
        }

        await WaitNetworkReadyAsync(false);
        var (withoutCni, _, _) = await CollectAsync();
        var notReady = Assert.Single(withoutCni, o => o.Code == "RUNTIME_NETWORK_NOT_READY");
        Assert.Contains("cni", notReady.Attributes["message"], StringComparison.OrdinalIgnoreCase);

        await File.WriteAllTextAsync(Path.Combine(containerd.CniConfDir, "10-periscope.conflist"),
            """{"cniVersion":"0.4.0","name":"periscope-test","plugins":[{"type":"loopback"}]}""");
        try
        {
            await WaitNetworkReadyAsync(true);
            var (withCni, facts, _) = await CollectAsync();
            Assert.DoesNotContain(withCni, o => o.Code == "RUNTIME_NETWORK_NOT_READY");
            Assert.True(facts.Conditions.Single(c => c.Type == "NetworkReady").Status);
        }
        finally
        {
            File.Delete(Path.Combine(containerd.CniConfDir, "10-periscope.conflist"));
        }
    }

    private async Task WaitNetworkReadyAsync(bool ready)
    {
        using var cri = new CriClient(containerd.Socket, TimeSpan.FromSeconds(10));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var status = await cri.Runtime.StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            if (status.Status.Conditions.Single(c => c.Type == "NetworkReady").Status == ready)
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"containerd did not report NetworkReady={ready} within 20 s");
    }

    private async Task<(IReadOnlyList<Observation> Observations, ContainerdFacts Facts, CollectorResult Result)> CollectAsync()
    {
        var collector = new ContainerdCollector(Options.Create(new ContainerdCollectorOptions { SocketPath = containerd.Socket }), NullLogger<ContainerdCollector>.Instance);
        var result = await CollectorHarness.RunAsync(collector, new HostRoot("/"));
        return (result.Observations, (ContainerdFacts)result.Facts!, result);
    }
}

/// <summary>The native (AOT, trimmed) agent speaking CRI to a real containerd: protobuf and gRPC under trimming.</summary>
[Collection(RealContainerdTests.Name)]
public sealed class RealContainerdNativeAgentTests(RealContainerd containerd)
{
    [Fact]
    public async Task NativeAgent_CollectContainerd_ReadsTheRealRuntime()
    {
        containerd.Require();
        var binary = Environment.GetEnvironmentVariable("PERISCOPE_AOT_BINARY");
        Periscope.Testing.Requires.That(binary is not null && File.Exists(binary), "PERISCOPE_AOT_BINARY does not name a published native agent (scripts/test.sh publishes one)");
        using var store = new Periscope.Testing.TempDirectory();

        var info = new ProcessStartInfo(binary!, ["collect", "--collectors", "containerd", "--out", store.Path, "--run-id", "native-cri", "--node", "native", "--json"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["Periscope__Collectors__Containerd__SocketPath"] = containerd.Socket;
        using var process = Process.Start(info)!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode is 0 or 1 or 2, stderr);
        using var document = JsonDocument.Parse(stdout);
        Assert.Equal("ok", document.RootElement.GetProperty("collectors")[0].GetProperty("status").GetString());
        using var reader = Periscope.Bundle.BundleReader.Open(File.OpenRead(document.RootElement.GetProperty("bundle").GetString()!));
        var facts = reader.ReadFacts().Containerd!;
        Assert.Equal(("ok", "containerd"), (facts.Reachability, facts.RuntimeName));
        Assert.StartsWith("containerd://", reader.Manifest.Node.RuntimeVersion, StringComparison.Ordinal);
        Assert.True(facts.Images >= 2);
    }
}
