using Xunit;

namespace Periscope.Agent.Tests;

/// <summary>Tests that touch a global resource of this machine (the real /dev/kmsg) run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialHostTests
{
    public const string Name = "serial host";
}
