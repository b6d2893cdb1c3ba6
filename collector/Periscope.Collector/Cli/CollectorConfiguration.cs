using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Periscope.Collector.Correlation;

namespace Periscope.Collector.Cli;

/// <summary>
/// Options of the collector's commands: environment variables (<c>Periscope__Correlation__ClusterShare</c>) over
/// mounted option directories (<c>--config-dir</c>, one file per key, as a ConfigMap mounts them); flags win over both.
/// </summary>
internal static class CollectorConfiguration
{
    public static IConfiguration Build(IReadOnlyList<string> configDirectories)
    {
        var builder = new ConfigurationBuilder();
        AddDirectories(builder, configDirectories);
        builder.AddEnvironmentVariables();
        return builder.Build();
    }

    /// <summary>Puts the directories before the environment variables (which override them).</summary>
    /// <exception cref="ArgumentException">A directory does not exist.</exception>
    public static void AddDirectories(IConfigurationBuilder configuration, IReadOnlyList<string> directories)
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

        foreach (var directory in directories)
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
    }

    /// <summary>The correlation thresholds, validated.</summary>
    /// <exception cref="ArgumentException">Every invalid threshold, at once.</exception>
    public static CorrelationOptions Correlation(IConfiguration configuration)
    {
        var options = new CorrelationOptions();
        try
        {
            configuration.GetSection(CorrelationOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new ArgumentException($"{CorrelationOptions.SectionName}: {ex.Message}", ex);
        }

        var failures = options.Validate();
        return failures.Count == 0 ? options : throw new ArgumentException(string.Join(" ", failures));
    }
}
