using Periscope.Agent.Analysis;
using Periscope.Agent.Collection;
using Periscope.Bundle;
using Xunit;

namespace Periscope.Agent.Tests.Analysis;

public sealed class NodeAnalyzerTests
{
    private const string ContainerId = "3f9e000000000000000000000000000000000000000000000000000000000abc";

    [Fact]
    public void Analyze_RuntimeOomKilledAndKernelOomKillOfTheSameContainer_AreOneFinding()
    {
        var kernel = KernelKill("cache", 42) with
        {
            Attributes = new Dictionary<string, string> { ["pid"] = "42", ["process"] = "cache", ["anonRssKb"] = "16380" },
            Evidence = new EvidenceReference("kernel/kmsg.log", 17),
        };
        var unrelatedKernel = kernel with { Subject = new FindingSubject(SubjectKind.Container, "other") };
        var runtime = new Observation
        {
            Code = "CONTAINER_OOMKILLED",
            Severity = Severity.Warning,
            Title = "shop/cart-1/cache was OOM-killed",
            Detail = "Attempt 0 ended with exit code 137, reason OOMKilled.",
            Subject = new FindingSubject(SubjectKind.Container, "shop/cart-1/cache"),
            Attributes = new Dictionary<string, string> { ["namespace"] = "shop", ["pod"] = "cart-1", ["container"] = "cache", ["containerId"] = ContainerId },
        };

        var findings = NodeAnalyzer.Analyze(
        [
            Result("kernel", kernel, unrelatedKernel),
            Result("containerd", runtime),
        ]);

        Assert.Equal(2, findings.Count);
        var joined = Assert.Single(findings, f => f.Code == "CONTAINER_OOMKILLED");
        Assert.Equal("16380", joined.Attributes["kernel.anonRssKb"]);
        Assert.Equal("kernel/kmsg.log:17", joined.Attributes["kernelEvidence"]);
        Assert.Equal("other", Assert.Single(findings, f => f.Code == "KERNEL_OOM_KILL").Subject.Id);
    }

    [Fact]
    public void Analyze_KernelOomKillWithoutRuntimeFinding_StaysAKernelFinding()
    {
        var kernel = new Observation
        {
            Code = "KERNEL_OOM_KILL",
            Severity = Severity.Critical,
            Title = "Node out of memory",
            Subject = new FindingSubject(SubjectKind.Container, ContainerId),
        };

        var finding = Assert.Single(NodeAnalyzer.Analyze([Result("kernel", kernel)]));

        Assert.Equal("KERNEL_OOM_KILL", finding.Code);
    }

    [Fact]
    public void Analyze_KilledExitTheRuntimeDidNotCallOom_StandsOnlyWithTheKernelsKill()
    {
        var kernel = KernelKill("dd", 7);
        var unconfirmed = new Observation
        {
            Code = "CONTAINER_OOMKILLED",
            Severity = Severity.Warning,
            Title = "shop/cache-1/cache was OOM-killed",
            Detail = "Attempt 0 ended with exit code 137 (killed), reason Error: the runtime did not record the OOM kill.",
            Subject = new FindingSubject(SubjectKind.Container, "shop/cache-1/cache"),
            Attributes = new Dictionary<string, string> { ["containerId"] = ContainerId, [NodeAnalyzer.ConfirmByKernel] = "true" },
        };
        var killedOtherwise = unconfirmed with
        {
            Subject = new FindingSubject(SubjectKind.Container, "shop/web-1/web"),
            Attributes = new Dictionary<string, string> { ["containerId"] = "liveness-probe-kill", [NodeAnalyzer.ConfirmByKernel] = "true" },
        };

        var findings = NodeAnalyzer.Analyze([Result("kernel", kernel), Result("containerd", unconfirmed, killedOtherwise)]);

        var story = Assert.Single(findings); // the kernel's kill joined; the other SIGKILL (a probe's, say) is no OOM
        Assert.Equal(("CONTAINER_OOMKILLED", "shop/cache-1/cache", "dd"), (story.Code, story.Subject.Id, story.Attributes["kernel.process"]));
        Assert.False(story.Attributes.ContainsKey(NodeAnalyzer.ConfirmByKernel));
        Assert.Contains("confirms it", story.Detail, StringComparison.Ordinal);
        Assert.Empty(NodeAnalyzer.Analyze([Result("containerd", unconfirmed)]));
    }

    /// <summary>The kernel's OOM kill of a process in the container <see cref="ContainerId"/>.</summary>
    private static Observation KernelKill(string process, int pid) => new()
    {
        Code = "KERNEL_OOM_KILL",
        Severity = Severity.Warning,
        Title = $"Container memory limit hit: OOM killer killed {process}",
        Detail = $"Memory cgroup out of memory: Killed process {pid} ({process})",
        Subject = new FindingSubject(SubjectKind.Container, ContainerId),
        Attributes = new Dictionary<string, string> { ["process"] = process },
    };

    private static CollectorResult Result(string name, params Observation[] observations)
        => new() { Name = name, Status = CollectorStatus.Ok, Observations = observations };
}
