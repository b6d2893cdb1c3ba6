using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Periscope.Agent.Hosting;

/// <summary>Builds the agent's host: configuration (appsettings.json, environment), logging to stderr, services.</summary>
internal static class AgentHost
{
    public static IHost Build(IReadOnlyDictionary<string, string?> overrides, bool verbose, Action<IServiceCollection>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "periscope-agent",
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Configuration.AddInMemoryCollection(overrides);

        // stdout carries only the command's output; every log line goes to stderr.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);

        builder.Services.AddPeriscopeAgent();
        configure?.Invoke(builder.Services);
        return builder.Build();
    }
}
