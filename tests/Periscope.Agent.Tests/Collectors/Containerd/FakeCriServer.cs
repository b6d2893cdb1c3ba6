using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Periscope.Agent.Collection.Cri;

namespace Periscope.Agent.Tests.Collectors.Containerd;

/// <summary>
/// A FAKE CRI runtime: a real gRPC server (Grpc.AspNetCore on Kestrel) on a unix socket, serving canned state. It is
/// for what a real containerd cannot be brought into here — a slow runtime, exact sandbox and container states —
/// and speaks the real wire protocol and method paths.
/// </summary>
internal sealed class FakeCriServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeCriServer(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public static async Task<FakeCriServer> StartAsync(string socketPath, FakeCriState state)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(o => o.ListenUnixSocket(socketPath, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(state);
        var app = builder.Build();
        app.MapGrpcService<FakeRuntimeService>();
        app.MapGrpcService<FakeImageService>();
        await app.StartAsync();
        return new FakeCriServer(app, socketPath);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>What the fake runtime answers.</summary>
internal sealed class FakeCriState
{
    public StatusResponse Status { get; set; } = new()
    {
        Status = new RuntimeStatus
        {
            Conditions =
            {
                new RuntimeCondition { Type = "RuntimeReady", Status = true },
                new RuntimeCondition { Type = "NetworkReady", Status = true },
            },
        },
    };

    public List<PodSandbox> Sandboxes { get; } = [];

    public List<(Container Container, ContainerStatus Status)> Containers { get; } = [];

    public List<Image> Images { get; } = [];

    public ImageFsInfoResponse ImageFs { get; set; } = new();

    /// <summary>Delay before answering ListContainers (a slow runtime).</summary>
    public TimeSpan ListContainersDelay { get; set; }
}

internal sealed class FakeRuntimeService(FakeCriState state) : RuntimeService.RuntimeServiceBase
{
    public override Task<VersionResponse> Version(VersionRequest request, ServerCallContext context)
        => Task.FromResult(new VersionResponse { Version = "0.1.0", RuntimeName = "fake-containerd", RuntimeVersion = "1.7.99", RuntimeApiVersion = "v1" });

    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context) => Task.FromResult(state.Status);

    public override Task<ListPodSandboxResponse> ListPodSandbox(ListPodSandboxRequest request, ServerCallContext context)
        => Task.FromResult(new ListPodSandboxResponse { Items = { state.Sandboxes } });

    public override async Task<ListContainersResponse> ListContainers(ListContainersRequest request, ServerCallContext context)
    {
        await Task.Delay(state.ListContainersDelay, context.CancellationToken);
        return new ListContainersResponse { Containers = { state.Containers.Select(c => c.Container) } };
    }

    public override Task<ContainerStatusResponse> ContainerStatus(ContainerStatusRequest request, ServerCallContext context)
    {
        var found = state.Containers.FirstOrDefault(c => c.Container.Id == request.ContainerId);
        return found.Status is null
            ? throw new RpcException(new Status(StatusCode.NotFound, $"container {request.ContainerId} not found"))
            : Task.FromResult(new ContainerStatusResponse { Status = found.Status });
    }

    public override Task<ListContainerStatsResponse> ListContainerStats(ListContainerStatsRequest request, ServerCallContext context)
        => Task.FromResult(new ListContainerStatsResponse());
}

internal sealed class FakeImageService(FakeCriState state) : ImageService.ImageServiceBase
{
    public override Task<ListImagesResponse> ListImages(ListImagesRequest request, ServerCallContext context)
        => Task.FromResult(new ListImagesResponse { Images = { state.Images } });

    public override Task<ImageFsInfoResponse> ImageFsInfo(ImageFsInfoRequest request, ServerCallContext context) => Task.FromResult(state.ImageFs);
}
