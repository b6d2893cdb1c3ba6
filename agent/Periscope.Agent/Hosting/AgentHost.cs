using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Periscope.Agent.Triggers;

namespace Periscope.Agent.Hosting;

/// <summary>How a host is configured: the CLI's flags and the directories of mounted option files.</summary>
internal sealed record HostSettings
{
    /// <summary>Settings from the command line; they win over every other source.</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// Directories of option files, one setting per file named by its key with <c>__</c> between sections
    /// (<c>Periscope__Sinks__Blob__Auth</c>): a ConfigMap or Secret mounted into the pod. They override
    /// appsettings.json and are overridden by environment variables and flags.
    /// </summary>
    public IReadOnlyList<string> ConfigDirectories { get; init; } = [];

    public bool Verbose { get; init; }

    /// <summary>Least level logged without <see cref="Verbose"/>: warnings for one-shot commands, information for the service.</summary>
    public LogLevel DefaultLevel { get; init; } = LogLevel.Warning;

    public Action<IServiceCollection>? Configure { get; init; }
}

internal static partial class AgentHostLog
{
    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Local HTTP endpoint listening on {Address}.")]
    public static partial void Listening(ILogger logger, string address);
}

/// <summary>
/// Builds the agent's host: configuration (appsettings.json, mounted option files, environment, flags), logging to
/// stderr, services. The one-shot commands get a plain host; <c>run</c> gets a web host when its local HTTP endpoint is
/// enabled.
/// </summary>
internal static class AgentHost
{
    public static IHost Build(IReadOnlyDictionary<string, string?> overrides, bool verbose, Action<IServiceCollection>? configure = null)
        => Build(new HostSettings { Overrides = overrides, Verbose = verbose, Configure = configure });

    public static IHost Build(HostSettings settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "periscope-agent",
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        Configure(builder, settings);
        return builder.Build();
    }

    /// <summary>The long-running agent: triggers, the run service and, when enabled, the local HTTP endpoint.</summary>
    public static IHost BuildService(HostSettings settings)
    {
        // Whether Kestrel is wanted depends on the configuration, so read it first from the same sources.
        var probe = new ConfigurationManager();
        probe.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        probe.AddEnvironmentVariables();
        AddSources(probe, settings);
        var http = probe.GetSection(HttpEndpointOptions.SectionName).Get<HttpEndpointOptions>() ?? new HttpEndpointOptions();

        if (!http.Enabled)
        {
            var plain = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                ApplicationName = "periscope-agent",
                ContentRootPath = AppContext.BaseDirectory,
                Args = [],
            });
            Configure(plain, settings);
            plain.Services.AddRunService(plain.Configuration);
            return plain.Build();
        }

        // The empty builder: only what is added here (no default sources, no IIS, no HTTPS redirection), AOT-clean.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = "periscope-agent",
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        builder.Configuration.AddEnvironmentVariables();
        Configure(builder, settings);
        builder.Services.AddRunService(builder.Configuration);
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.Listen(http.ListenEndPoint());
            kestrel.Limits.MaxRequestBodySize = 64 * 1024; // a run request is a few fields
            kestrel.AddServerHeader = false;
        });
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        app.UseRouting();
        AgentEndpoints.Map(app);

        // The bound address (port 0 picks one) is what scripts and tests connect to.
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Periscope.Agent.Http");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];
            foreach (var address in addresses)
            {
                AgentHostLog.Listening(log, address);
            }
        });
        return app;
    }

    private static void Configure(IHostApplicationBuilder builder, HostSettings settings)
    {
        AddSources(builder.Configuration, settings);

        // stdout carries only the command's output; every log line goes to stderr.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(settings.Verbose ? LogLevel.Debug : settings.DefaultLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);

        builder.Services.AddPeriscopeAgent();
        settings.Configure?.Invoke(builder.Services);
    }

    /// <summary>
    /// Mounted option files go in front of the environment variables (which override them), the flags last.
    /// </summary>
    private static void AddSources(IConfigurationBuilder configuration, HostSettings settings)
    {
        var sources = configuration.Sources;
        var position = sources.Count;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource)
            {
                position = i;
                break;
            }
        }

        foreach (var directory in settings.ConfigDirectories)
        {
            var full = Path.GetFullPath(directory);
            if (!Directory.Exists(full))
            {
                throw new ArgumentException($"--config-dir '{directory}' is not a directory.");
            }

            sources.Insert(position++, new Microsoft.Extensions.Configuration.KeyPerFile.KeyPerFileConfigurationSource
            {
                FileProvider = new PhysicalFileProvider(full),
                Optional = false,
                SectionDelimiter = "__",
            });
        }

        configuration.AddInMemoryCollection(settings.Overrides);
    }

    /// <summary>Every failure of options validated at start, whether one options type failed or several.</summary>
    public static IReadOnlyList<string>? ValidationFailures(Exception exception)
        => exception switch
        {
            OptionsValidationException one => one.Failures.ToList(),
            AggregateException many when many.InnerExceptions.All(e => e is OptionsValidationException)
                => many.InnerExceptions.Cast<OptionsValidationException>().SelectMany(e => e.Failures).ToList(),
            _ => null,
        };
}
