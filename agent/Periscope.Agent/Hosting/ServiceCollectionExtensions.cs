using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Azure;
using Periscope.Agent.Collectors.Connectivity;
using Periscope.Agent.Collectors.Cni;
using Periscope.Agent.Collectors.Containerd;
using Periscope.Agent.Collectors.Dns;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Agent.Collectors.Kubelet;
using Periscope.Agent.Collectors.System;
using Periscope.Agent.Export;
using Periscope.Agent.Kubernetes;
using Periscope.Agent.Redaction;
using Periscope.Agent.Runs;
using Periscope.Agent.Signals;
using Periscope.Agent.Triggers;
using Microsoft.Extensions.Configuration;

namespace Periscope.Agent.Hosting;

/// <summary>Registration of the agent's parts. Adding a collector is one type and one <c>AddCollector</c> line.</summary>
internal static class ServiceCollectionExtensions
{
    public static IServiceCollection AddPeriscopeAgent(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<AgentOptions>().BindConfiguration(AgentOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>();
        services.AddOptions<RunOptions>().BindConfiguration(RunOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RunOptions>, RunOptionsValidator>();

        services.TryAddSingleton<INodeFileSystem>(sp => new HostRoot(sp.GetRequiredService<IOptions<AgentOptions>>().Value.HostRoot));
        services.TryAddSingleton<IProcessRunner, ProcessRunner>();
        services.AddSingleton<CollectionRunner>();
        services.AddSingleton<DirectoryBundleSink>();
        services.AddOptions<RedactionOptions>().BindConfiguration(RedactionOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedactionOptions>, RedactionOptionsValidator>();
        services.AddSingleton<RedactorFactory>();
        services.AddOptions<BlobSinkOptions>().BindConfiguration(BlobSinkOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BlobSinkOptions>, BlobSinkOptionsValidator>();
        services.AddSingleton<BlobBundleExporter>();
        services.AddOptions<SpoolOptions>().BindConfiguration(SpoolOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SpoolOptions>, SpoolOptionsValidator>();
        services.AddSingleton<SpoolUploader>();
        services.AddSingleton<RunPipeline>();
        services.AddOptions<NodeObjectOptions>().BindConfiguration(NodeObjectOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NodeObjectOptions>, NodeObjectOptionsValidator>();
        services.AddSingleton<NodeObjectReader>();
        services.AddOptions<SignalOptions>().BindConfiguration(SignalOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SignalOptions>, SignalOptionsValidator>();
        services.AddSingleton<SignalTracker>();
        services.AddSingleton(sp => new LocalNode(sp.GetRequiredService<INodeFileSystem>(), sp.GetRequiredService<IOptions<AgentOptions>>().Value.Node));

        services.AddSystemCollector();
        services.AddKernelCollector();
        services.AddKubeletCollector();
        services.AddContainerdCollector();
        services.AddDnsCollector();
        services.AddCniCollector();
        services.AddAzureCollector();
        services.AddConnectivityCollector();
        return services;
    }

    /// <summary>The long-running agent (<c>periscope-agent run</c>): run history and queue, triggers, the run loop.</summary>
    public static IServiceCollection AddRunService(this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        services.AddMetrics();
        services.AddOptions<TriggerOptions>().BindConfiguration(TriggerOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TriggerOptions>, TriggerOptionsValidator>();
        services.AddOptions<HttpEndpointOptions>().BindConfiguration(HttpEndpointOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HttpEndpointOptions>, HttpEndpointOptionsValidator>();
        services.AddSingleton(sp => RunHistory.Load(sp.GetRequiredService<IOptions<AgentOptions>>().Value.Store));
        services.AddSingleton<RunQueue>();
        services.AddSingleton<TriggerIntake>();
        services.AddSingleton<AgentMetrics>();
        services.AddSingleton<ILoopMemory, LoopMemory>();

        // The run in progress gets its grace period after SIGTERM; the host must wait a little longer than that.
        var grace = configuration.GetSection(RunOptions.SectionName).GetValue<TimeSpan?>(nameof(RunOptions.ShutdownGrace)) ?? new RunOptions().ShutdownGrace;
        services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = grace + TimeSpan.FromSeconds(10));

        services.AddHostedService<RunService>();
        services.AddHostedService<IntervalTrigger>();
        services.AddHostedService<ConfigMapFilesTrigger>();
        services.AddHostedService<ConfigMapWatchTrigger>();
        services.AddHostedService<NodeConditionPublisher>();
        services.AddHostedService<SignalLoop>();
        services.AddHostedService<NodeEventPublisher>();
        services.AddHostedService<ScheduledEventsPoller>();
        if (Telemetry.OtlpConfigured(configuration))
        {
            services.AddOtlpMetrics();
        }
        return services;
    }

    /// <summary>A signal-loop check (docs/signals.md), registered next to its collector.</summary>
    public static IServiceCollection AddSignalCheck<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TCheck>(this IServiceCollection services)
        where TCheck : class, ISignalCheck
    {
        services.AddSingleton<ISignalCheck, TCheck>();
        return services;
    }

    public static IServiceCollection AddCollector<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TCollector>(this IServiceCollection services)
        where TCollector : class, ICollector
    {
        services.AddSingleton<ICollector, TCollector>();
        return services;
    }

    public static IServiceCollection AddSystemCollector(this IServiceCollection services)
    {
        services.AddOptions<SystemCollectorOptions>().BindConfiguration(SystemCollectorOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SystemCollectorOptions>, SystemCollectorOptionsValidator>();
        services.TryAddSingleton<IKernelClock, AdjtimexKernelClock>();
        return services.AddCollector<SystemCollector>().AddSignalCheck<ReadOnlyMountCheck>();
    }

    public static IServiceCollection AddKubeletCollector(this IServiceCollection services)
    {
        services.AddOptions<KubeletCollectorOptions>().BindConfiguration(KubeletCollectorOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KubeletCollectorOptions>, KubeletCollectorOptionsValidator>();
        return services.AddCollector<KubeletCollector>().AddSignalCheck<KubeletHealthCheck>();
    }

    public static IServiceCollection AddContainerdCollector(this IServiceCollection services)
    {
        services.AddOptions<ContainerdCollectorOptions>().BindConfiguration(ContainerdCollectorOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ContainerdCollectorOptions>, ContainerdCollectorOptionsValidator>();
        return services.AddCollector<ContainerdCollector>().AddSignalCheck<RuntimeStatusCheck>();
    }

    public static IServiceCollection AddDnsCollector(this IServiceCollection services)
    {
        services.AddOptions<DnsCollectorOptions>().BindConfiguration(DnsCollectorOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DnsCollectorOptions>, DnsCollectorOptionsValidator>();
        return services.AddCollector<DnsCollector>();
    }

    public static IServiceCollection AddCniCollector(this IServiceCollection services)
    {
        services.AddOptions<CniCollectorOptions>().BindConfiguration(CniCollectorOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CniCollectorOptions>, CniCollectorOptionsValidator>();
        return services.AddCollector<CniCollector>().AddSignalCheck<CniConfigCheck>();
    }

    public static IServiceCollection AddAzureCollector(this IServiceCollection services)
    {
        services.AddOptions<AzureCollectorOptions>().BindConfiguration(AzureCollectorOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AzureCollectorOptions>, AzureCollectorOptionsValidator>();
        services.AddSingleton<InstanceMetadataClient>();
        services.AddSingleton<ScheduledEventsSource>();
        return services.AddCollector<AzureCollector>();
    }

    public static IServiceCollection AddConnectivityCollector(this IServiceCollection services)
    {
        services.AddOptions<ConnectivityCollectorOptions>().BindConfiguration(ConnectivityCollectorOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConnectivityCollectorOptions>, ConnectivityCollectorOptionsValidator>();
        return services.AddCollector<ConnectivityCollector>();
    }

    public static IServiceCollection AddKernelCollector(this IServiceCollection services)
    {
        services.AddOptions<KernelCollectorOptions>().BindConfiguration(KernelCollectorOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KernelCollectorOptions>, KernelCollectorOptionsValidator>();
        return services.AddCollector<KernelCollector>().AddSignalCheck<KernelSignalCheck>();
    }
}
