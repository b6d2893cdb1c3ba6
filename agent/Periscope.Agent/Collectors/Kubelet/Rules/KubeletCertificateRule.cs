using Periscope.Agent.Collection;
using Periscope.Bundle;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Kubelet.Rules;

/// <summary>
/// <c>KUBELET_CERT_EXPIRED</c> (critical) and <c>KUBELET_CERT_EXPIRING</c> (warning, within
/// <c>CertificateExpiryWarning</c>): a certificate under the kubelet's pki directory, judged against the run's clock.
/// </summary>
internal static class KubeletCertificateRule
{
    /// <param name="context">The run: its clock.</param>
    /// <param name="certificate">The certificate read.</param>
    /// <param name="name">Its file name.</param>
    /// <param name="options">How soon before expiry it is a warning.</param>
    public static Observation? Check(CollectionContext context, CertificateFacts certificate, string name, KubeletCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(options);
        var left = certificate.NotAfter - context.Time.GetUtcNow();
        if (!(left <= TimeSpan.Zero || left < options.CertificateExpiryWarning))
        {
            return null;
        }

        var expired = left <= TimeSpan.Zero;
        return Observations.Of(context, expired ? FindingCodes.KubeletCertExpired : FindingCodes.KubeletCertExpiring,
            expired ? Severity.Critical : Severity.Warning,
            expired ? $"Kubelet certificate {name} has expired" : $"Kubelet certificate {name} expires in {left.TotalDays:0.#} days",
            new FindingSubject(SubjectKind.File, certificate.File),
            $"{certificate.Subject}, issued by {certificate.Issuer}, valid {UtcTimestampConverter.Format(certificate.NotBefore)} – {UtcTimestampConverter.Format(certificate.NotAfter)}.",
            evidence: null,
            ("subject", certificate.Subject), ("notAfter", UtcTimestampConverter.Format(certificate.NotAfter)));
    }
}
