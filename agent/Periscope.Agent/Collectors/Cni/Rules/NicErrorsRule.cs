using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Cni.Rules;

/// <summary><c>NIC_ERRORS</c>: an interface (not loopback) with enough traffic and a share of errors and drops past the ratio.</summary>
internal static class NicErrorsRule
{
    public static Observation? Check(CollectionContext context, InterfaceFacts nic, CniCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(nic);
        ArgumentNullException.ThrowIfNull(options);
        var packets = nic.RxPackets + nic.TxPackets;
        var bad = nic.RxErrors + nic.TxErrors + nic.RxDropped + nic.TxDropped;
        if (nic.Name == "lo" || packets < options.NicMinPackets || bad <= packets * options.NicErrorRatio)
        {
            return null;
        }

        return Observations.Of(context, FindingCodes.NicErrors, Severity.Warning,
            $"{nic.Name}: {100.0 * bad / packets:0.##} % of packets had errors or were dropped",
            new FindingSubject(SubjectKind.Interface, nic.Name),
            $"rx errors {nic.RxErrors}, tx errors {nic.TxErrors}, rx dropped {nic.RxDropped}, tx dropped {nic.TxDropped} of {packets} packets since the interface came up.",
            evidence: null,
            ("errors", nic.RxErrors + nic.TxErrors), ("dropped", nic.RxDropped + nic.TxDropped), ("packets", packets));
    }
}
