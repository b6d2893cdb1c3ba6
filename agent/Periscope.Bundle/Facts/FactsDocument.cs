using System.Text.Json.Serialization;

namespace Periscope.Bundle.Facts;

/// <summary>
/// The <c>facts.json</c> entry: typed data per collector, keyed by collector name. A collector that did not run has
/// no entry. Readers ignore collectors they do not know.
/// </summary>
public sealed record FactsDocument
{
    /// <summary>Schema version, <c>MAJOR.MINOR</c>.</summary>
    [JsonRequired]
    public string SchemaVersion { get; init; } = BundleSchema.Version;

    /// <summary>Facts of the <c>system</c> collector.</summary>
    public SystemFacts? System { get; init; }

    /// <summary>Facts of the <c>kernel</c> collector.</summary>
    public KernelFacts? Kernel { get; init; }

    /// <summary>Facts of the <c>kubelet</c> collector.</summary>
    public KubeletFacts? Kubelet { get; init; }

    /// <summary>Facts of the <c>containerd</c> collector.</summary>
    public ContainerdFacts? Containerd { get; init; }

    /// <summary>Facts of the <c>dns</c> collector.</summary>
    public DnsFacts? Dns { get; init; }

    /// <summary>Facts of the <c>cni</c> collector.</summary>
    public CniFacts? Cni { get; init; }

    /// <summary>Facts of the <c>azure</c> collector (schema 1.2).</summary>
    public AzureFacts? Azure { get; init; }

    /// <summary>Facts of the <c>connectivity</c> collector (schema 1.2).</summary>
    public ConnectivityFacts? Connectivity { get; init; }
}
