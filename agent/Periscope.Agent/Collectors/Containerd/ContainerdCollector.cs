using System.Globalization;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collection.Node;
using Periscope.Agent.Collection.Cri;
using Periscope.Agent.Collectors.Containerd.Rules;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Containerd;

/// <summary>
/// The container runtime through the CRI gRPC API on its unix socket, as the kubelet sees it: version, runtime and
/// network readiness, sandboxes, containers and their status, images and the image filesystem, container stats, and
/// the log tails of failing containers. Every call has its own deadline. It owns the image-filesystem facts.
/// </summary>
internal sealed partial class ContainerdCollector(IOptions<ContainerdCollectorOptions> options, ILogger<ContainerdCollector> logger) : ICollector
{
    private const string NamespaceLabel = "io.kubernetes.pod.namespace";
    private const string PodLabel = "io.kubernetes.pod.name";
    private const string PodUidLabel = "io.kubernetes.pod.uid";
    private const string ContainerLabel = "io.kubernetes.container.name";
    private const string RestartAnnotation = "io.kubernetes.container.restartCount";
    private readonly ILogger _logger = logger;

    public string Name => "containerd"; // bundle folder + config key: never rename

    public string Description => "Container runtime through CRI: readiness, sandboxes, containers, images, image filesystem, failing containers' logs.";

    public CollectorSupport CheckSupport(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var socket = options.Value.SocketPath;
        if (host.FileExists(socket))
        {
            return CollectorSupport.Supported($"CRI socket {socket} is present");
        }

        // Absent is not broken: only on a Kubernetes node is a missing runtime socket a finding.
        return KubernetesNode.Is(host)
            ? CollectorSupport.Supported($"this is a Kubernetes node but {socket} is missing")
            : CollectorSupport.Unsupported($"no CRI socket at {socket} and no kubelet on this machine");
    }

    public async Task CollectAsync(CollectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = options.Value;
        var socket = o.SocketPath;
        var server = new FindingSubject(SubjectKind.Server, socket);

        // The journal and config file are read from the host root whatever the socket does: a runtime that keeps
        // crashing is exactly when its socket does not answer.
        await ContainerdJournal.CollectAsync(context, o, cancellationToken);
        await ContainerdConfigFile.CollectAsync(context, o.ConfigPath, cancellationToken);

        if (context.Offline)
        {
            context.Output.MarkPartial("offline replay: the CRI socket is not queried");
            context.Output.SetFacts(new ContainerdFacts { Socket = socket, Reachability = "offline" });
            return;
        }

        if (!context.Host.FileExists(socket))
        {
            Unreachable(context, server, "socket-missing", $"the CRI socket {socket} does not exist: containerd is not running or listens elsewhere");
            context.Output.SetFacts(new ContainerdFacts { Socket = socket, Reachability = "socket-missing" });
            return;
        }

        using var cri = new CriClient(context.Host.Resolve(socket), o.CallTimeout);
        var version = await cri.CallAsync("RuntimeService/Version", c => cri.Runtime.VersionAsync(new VersionRequest { Version = "v1" }, c), cancellationToken);
        if (!version.Succeeded)
        {
            Unreachable(context, server, version.Reachability, $"the runtime did not answer Version on {socket}: {version.Describe()}");
            context.Output.SetFacts(new ContainerdFacts { Socket = socket, Reachability = version.Reachability, Calls = cri.Calls });
            return;
        }

        await WriteJsonAsync(context, "version.json", version.Response!, cancellationToken);
        var conditions = await CollectStatusAsync(context, cri, server, cancellationToken);
        var sandboxes = await CollectSandboxesAsync(context, cri, cancellationToken);
        var containers = await CollectContainersAsync(context, cri, o, cancellationToken);
        var (imageCount, imageBytes) = await CollectImagesAsync(context, cri, cancellationToken);
        var imageFilesystems = await CollectImageFsAsync(context, cri, server, o, cancellationToken);

        ReportContainers(context, containers, o);
        ReportSandboxes(context, sandboxes);
        await WriteLogTailsAsync(context, containers, o, cancellationToken);
        foreach (var call in cri.Calls)
        {
            Observations.Report(context, RuntimeApiSlowRule.Check(context, server, call, o));
        }

        var v = version.Response!;
        context.Output.SetFacts(new ContainerdFacts
        {
            Socket = socket,
            Reachability = "ok",
            RuntimeName = v.RuntimeName,
            RuntimeVersion = v.RuntimeVersion,
            RuntimeApiVersion = v.RuntimeApiVersion,
            Conditions = conditions,
            Sandboxes = sandboxes,
            Containers = containers,
            Images = imageCount,
            ImagesBytes = imageBytes,
            ImageFilesystems = imageFilesystems,
            Calls = cri.Calls,
        });
        LogCollected(sandboxes.Count, containers.Count, cri.Calls.Count);
    }

    private static async Task<List<RuntimeConditionFacts>> CollectStatusAsync(CollectionContext context, CriClient cri, FindingSubject server, CancellationToken cancellationToken)
    {
        var status = await cri.CallAsync("RuntimeService/Status", c => cri.Runtime.StatusAsync(new StatusRequest { Verbose = true }, c), cancellationToken);
        if (!status.Succeeded)
        {
            context.Output.MarkPartial($"Status failed: {status.Describe()}");
            return [];
        }

        // The verbose "config" entry carries the CRI plugin's whole configuration, registry credentials included:
        // it stays out of the bundle.
        var response = status.Response!.Clone();
        response.Info.Remove("config");
        await WriteJsonAsync(context, "status.json", response, cancellationToken);

        var conditions = response.Status?.Conditions.Select(c => new RuntimeConditionFacts(c.Type, c.Status, Empty(c.Reason), Empty(c.Message))).ToList() ?? [];
        foreach (var condition in conditions)
        {
            Observations.Report(context, RuntimeConditionRule.Check(context, server, condition));
        }

        return conditions;
    }

    private static async Task<List<SandboxFacts>> CollectSandboxesAsync(CollectionContext context, CriClient cri, CancellationToken cancellationToken)
    {
        var list = await cri.CallAsync("RuntimeService/ListPodSandbox", c => cri.Runtime.ListPodSandboxAsync(new ListPodSandboxRequest(), c), cancellationToken);
        if (!list.Succeeded)
        {
            context.Output.MarkPartial($"ListPodSandbox failed: {list.Describe()}");
            return [];
        }

        await WriteJsonAsync(context, "sandboxes.json", list.Response!, cancellationToken);
        return list.Response!.Items.Select(s => new SandboxFacts
        {
            Id = s.Id,
            Namespace = s.Metadata?.Namespace ?? string.Empty,
            Pod = s.Metadata?.Name ?? string.Empty,
            Uid = s.Metadata?.Uid ?? string.Empty,
            Attempt = s.Metadata?.Attempt ?? 0,
            State = s.State == PodSandboxState.SandboxReady ? "ready" : "notready",
            CreatedAt = FromNanoseconds(s.CreatedAt),
        }).ToList();
    }

    private static async Task<List<ContainerFacts>> CollectContainersAsync(CollectionContext context, CriClient cri, ContainerdCollectorOptions o, CancellationToken cancellationToken)
    {
        var list = await cri.CallAsync("RuntimeService/ListContainers", c => cri.Runtime.ListContainersAsync(new ListContainersRequest(), c), cancellationToken);
        if (!list.Succeeded)
        {
            context.Output.MarkPartial($"ListContainers failed: {list.Describe()}");
            return [];
        }

        var containers = list.Response!.Containers;
        if (containers.Count > o.MaxContainerStatusCalls)
        {
            context.Output.MarkPartial($"{containers.Count} containers; status asked for the newest {o.MaxContainerStatusCalls}");
        }

        var statuses = new ContainerStatus?[containers.Count];
        var asked = containers.Select((c, i) => (c, i)).OrderByDescending(x => x.c.CreatedAt).Take(o.MaxContainerStatusCalls).ToList();
        await Parallel.ForEachAsync(asked, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (item, token) =>
        {
            var status = await cri.CallAsync("RuntimeService/ContainerStatus",
                c => cri.Runtime.ContainerStatusAsync(new ContainerStatusRequest { ContainerId = item.c.Id }, c), token);
            statuses[item.i] = status.Response?.Status;
        });

        var stats = o.ContainerStats
            ? await cri.CallAsync("RuntimeService/ListContainerStats", c => cri.Runtime.ListContainerStatsAsync(new ListContainerStatsRequest(), c), cancellationToken)
            : new CriResult<ListContainerStatsResponse>(null, null, TimeSpan.Zero);
        var workingSets = stats.Succeeded
            ? stats.Response!.Stats.Where(s => s.Attributes is not null && s.Memory?.WorkingSetBytes is not null)
                .ToDictionary(s => s.Attributes.Id, s => (long)s.Memory.WorkingSetBytes.Value)
            : [];

        await using (var file = context.Output.CreateFile("containers.json"))
        await using (var writer = new StreamWriter(file, new UTF8Encoding(false)))
        {
            await writer.WriteAsync("{\"containers\":[");
            for (var i = 0; i < containers.Count; i++)
            {
                await writer.WriteAsync((i > 0 ? ",\n" : "\n") + "{\"container\":" + JsonFormatter.Default.Format(containers[i])
                    + ",\"status\":" + (statuses[i] is { } s ? JsonFormatter.Default.Format(s) : "null") + "}");
            }

            await writer.WriteAsync("\n]}\n");
        }

        if (stats.Succeeded)
        {
            await WriteJsonAsync(context, "stats.json", stats.Response!, cancellationToken);
        }

        var facts = new List<ContainerFacts>(containers.Count);
        for (var i = 0; i < containers.Count; i++)
        {
            var container = containers[i];
            var status = statuses[i];
            var labels = container.Labels;
            var annotations = status?.Annotations ?? container.Annotations;
            var state = status?.State ?? container.State;
            facts.Add(new ContainerFacts
            {
                Id = container.Id,
                SandboxId = container.PodSandboxId,
                Namespace = labels.GetValueOrDefault(NamespaceLabel),
                Pod = labels.GetValueOrDefault(PodLabel),
                PodUid = labels.GetValueOrDefault(PodUidLabel),
                Name = labels.GetValueOrDefault(ContainerLabel) ?? container.Metadata?.Name ?? container.Id,
                Attempt = container.Metadata?.Attempt ?? 0,
                State = state switch
                {
                    ContainerState.ContainerCreated => "created",
                    ContainerState.ContainerRunning => "running",
                    ContainerState.ContainerExited => "exited",
                    _ => "unknown",
                },
                ExitCode = state == ContainerState.ContainerExited ? status?.ExitCode : null,
                Reason = Empty(status?.Reason),
                RestartCount = int.TryParse(annotations.GetValueOrDefault(RestartAnnotation), NumberStyles.None, CultureInfo.InvariantCulture, out var restarts) ? restarts : null,
                Image = Empty(container.Image?.Image),
                StartedAt = FromNanoseconds(status?.StartedAt ?? 0),
                FinishedAt = FromNanoseconds(status?.FinishedAt ?? 0),
                LogPath = string.IsNullOrEmpty(status?.LogPath) ? null : context.Host.ToNodePath(context.Host.Resolve(status.LogPath)),
                WorkingSetBytes = workingSets.TryGetValue(container.Id, out var workingSet) ? workingSet : null,
            });
        }

        return facts;
    }

    private static async Task<(int Count, long Bytes)> CollectImagesAsync(CollectionContext context, CriClient cri, CancellationToken cancellationToken)
    {
        var images = await cri.CallAsync("ImageService/ListImages", c => cri.Images.ListImagesAsync(new ListImagesRequest(), c), cancellationToken);
        if (!images.Succeeded)
        {
            context.Output.MarkPartial($"ListImages failed: {images.Describe()}");
            return (0, 0);
        }

        await WriteJsonAsync(context, "images.json", images.Response!, cancellationToken);
        return (images.Response!.Images.Count, (long)images.Response.Images.Aggregate(0UL, (sum, i) => sum + i.Size));
    }

    private static async Task<List<ImageFsFacts>> CollectImageFsAsync(
        CollectionContext context, CriClient cri, FindingSubject server, ContainerdCollectorOptions o, CancellationToken cancellationToken)
    {
        var info = await cri.CallAsync("ImageService/ImageFsInfo", c => cri.Images.ImageFsInfoAsync(new ImageFsInfoRequest(), c), cancellationToken);
        if (!info.Succeeded)
        {
            context.Output.MarkPartial($"ImageFsInfo failed: {info.Describe()}");
            return [];
        }

        await WriteJsonAsync(context, "imagefs.json", info.Response!, cancellationToken);
        var facts = new List<ImageFsFacts>();
        foreach (var fs in info.Response!.ImageFilesystems)
        {
            var mountpoint = fs.FsId?.Mountpoint ?? string.Empty;
            var usage = mountpoint.Length > 0 && context.Host.DirectoryExists(mountpoint) ? context.Host.GetUsage(mountpoint, out _) : null;
            facts.Add(new ImageFsFacts(mountpoint, (long?)fs.UsedBytes?.Value, (long?)fs.InodesUsed?.Value, usage?.SizeBytes, usage?.AvailableBytes));
            Observations.Report(context, ImageFsPressureRule.Check(context, server, mountpoint, fs.UsedBytes?.Value, usage, o));
        }

        return facts;
    }

    private static void ReportContainers(CollectionContext context, List<ContainerFacts> containers, ContainerdCollectorOptions o)
    {
        // One subject per Kubernetes container (namespace/pod/container): attempts of it share the finding.
        foreach (var group in containers.Where(c => c.Pod is not null).GroupBy(c => (c.Namespace, c.Pod, c.Name)))
        {
            var attempts = group.OrderByDescending(c => c.Attempt).ThenByDescending(c => c.StartedAt).ToList();
            Observations.Report(context, ContainerCrashLoopRule.Check(context, attempts, o));
            foreach (var killed in ContainerOomKilledRule.Check(context, attempts))
            {
                context.Output.Report(killed);
            }
        }
    }

    private static void ReportSandboxes(CollectionContext context, List<SandboxFacts> sandboxes)
    {
        foreach (var pod in sandboxes.GroupBy(s => s.Uid))
        {
            Observations.Report(context, SandboxNotReadyRule.Check(context, pod));
        }
    }

    private async Task WriteLogTailsAsync(CollectionContext context, List<ContainerFacts> containers, ContainerdCollectorOptions o, CancellationToken cancellationToken)
    {
        foreach (var failed in containers.Where(c => c.LogPath is not null && (c.ExitCode is not (null or 0) || c.Reason == "OOMKilled")))
        {
            var name = $"logs/{failed.Namespace}_{failed.Pod}_{failed.Name}_{failed.Attempt}.log";
            try
            {
                await using var source = context.Host.OpenRead(failed.LogPath!);
                if (source.CanSeek && source.Length > o.LogTailBytes)
                {
                    source.Seek(-o.LogTailBytes, SeekOrigin.End);
                }

                await using var destination = context.Output.CreateFile(name);
                await source.CopyToAsync(destination, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                LogTailFailed(failed.LogPath!, ex.Message);
            }
        }
    }

    private static void Unreachable(CollectionContext context, FindingSubject server, string how, string detail)
        => context.Output.Report(RuntimeUnreachableRule.Of(context, server, how, detail));

    private static Task WriteJsonAsync(CollectionContext context, string name, IMessage message, CancellationToken cancellationToken)
        => context.Output.WriteTextAsync(name, JsonFormatter.Default.Format(message) + "\n", cancellationToken);

    private static DateTimeOffset? FromNanoseconds(long nanoseconds)
        => nanoseconds > 0 ? DateTimeOffset.UnixEpoch.AddTicks(nanoseconds / 100) : null;

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    [LoggerMessage(EventId = 2201, Level = LogLevel.Debug, Message = "CRI: {Sandboxes} sandboxes, {Containers} containers, {Calls} calls.")]
    private partial void LogCollected(int sandboxes, int containers, int calls);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Container log {Path} could not be read: {Reason}")]
    private partial void LogTailFailed(string path, string reason);
}
