using Periscope.Bundle;

namespace Periscope.Agent.Export;

/// <summary>A bundle sealed into the store.</summary>
/// <param name="BundlePath">Path of the zip on disk.</param>
/// <param name="StatusPath">Path of its status record on disk.</param>
/// <param name="Manifest">Its manifest.</param>
/// <param name="Status">Its status record.</param>
internal sealed record SealedBundle(string BundlePath, string StatusPath, Manifest Manifest, StatusRecord Status);
