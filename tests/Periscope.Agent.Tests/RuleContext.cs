using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Periscope.Agent.Collection;
using Periscope.Agent.Redaction;
using Periscope.Testing;

namespace Periscope.Agent.Tests;

/// <summary>A run context for testing finding rules on their figures alone: node <c>node-7</c>, a fake clock at <see cref="Now"/>.</summary>
internal sealed class RuleContext : IDisposable
{
    public static readonly DateTimeOffset Now = new(2026, 12, 4, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _staging = new();

    public RuleContext(string collector)
    {
        Context = new CollectionContext
        {
            Host = new HostRoot(_staging.Path),
            Commands = new ProcessRunner(TimeProvider.System, NullLogger<ProcessRunner>.Instance),
            Output = new CollectorOutput(collector, _staging.Path, 1024, Redactor.Default),
            NodeName = "node-7",
            Since = Now.AddHours(-1),
            Until = Now,
            Time = new FakeTimeProvider(Now),
        };
    }

    public CollectionContext Context { get; }

    public void Dispose() => _staging.Dispose();
}
