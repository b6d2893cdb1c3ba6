using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Periscope.Agent.Collection;
using Periscope.Agent.Redaction;
using Periscope.Testing;

namespace Periscope.Agent.Tests;

/// <summary>
/// Base of the finding-rule tests, which judge figures alone: a run context on node <c>node-7</c> with a fake clock
/// at <see cref="Now"/>, and its staging directory removed afterwards.
/// </summary>
public abstract class RuleTests : IDisposable
{
    public static readonly DateTimeOffset Now = new(2026, 12, 4, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _staging = new();

    protected RuleTests(string collector)
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

    private protected CollectionContext Context { get; }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _staging.Dispose();
        }
    }
}
