using Xunit;

namespace Periscope.Agent.Tests.Collectors.Containerd;

/// <summary>Tests on the real containerd share one runtime and run one at a time (it writes under /run/containerd).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealContainerdTests : ICollectionFixture<RealContainerd>
{
    public const string Name = "real containerd";
}
