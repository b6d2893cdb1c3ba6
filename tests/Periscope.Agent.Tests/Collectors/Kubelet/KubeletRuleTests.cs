using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Kubelet;
using Periscope.Agent.Collectors.Kubelet.Rules;
using Periscope.Bundle;
using Periscope.Bundle.Facts;
using Xunit;

namespace Periscope.Agent.Tests.Collectors.Kubelet;

/// <summary>Each of the kubelet collector's finding rules on its figures alone, on both sides of what it judges.</summary>
public sealed class KubeletRuleTests() : RuleTests("kubelet")
{
    private readonly KubeletCollectorOptions _options = new();

    [Fact]
    public void NotRunning_OnlyWithoutAProcess()
    {
        Assert.Null(KubeletNotRunningRule.Check(Context, processFound: true));

        var missing = KubeletNotRunningRule.Check(Context, processFound: false);

        Assert.NotNull(missing);
        Assert.Equal(FindingCodes.KubeletNotRunning, missing.Code);
        Assert.Equal(new FindingSubject(SubjectKind.Node, "node-7"), missing.Subject);
    }

    [Fact]
    public void Unhealthy_AnythingButTwoHundred_AndNoAnswerAtAll()
    {
        Assert.Null(KubeletUnhealthyRule.Check(Context, healthz: null)); // not probed (offline, no process)
        Assert.Null(KubeletUnhealthyRule.Check(Context, new HealthzFacts("http://127.0.0.1:10248/healthz", 200, "ok", null, 3)));
        var failing = KubeletUnhealthyRule.Check(Context, new HealthzFacts("http://127.0.0.1:10248/healthz", 500, "[-]syncloop failed", null, 3));
        var silent = KubeletUnhealthyRule.Check(Context, new HealthzFacts("http://127.0.0.1:10248/healthz", null, null, "connection refused", 1));

        Assert.NotNull(failing);
        Assert.Equal("The kubelet's healthz answers 500", failing.Title);
        Assert.Equal("500", failing.Attributes["status"]);
        Assert.Equal("HTTP 500: [-]syncloop failed", failing.Detail);
        Assert.NotNull(silent);
        Assert.Equal("The kubelet's healthz does not answer", silent.Title);
        Assert.Equal("connection refused", silent.Detail);
        Assert.Equal(string.Empty, silent.Attributes["status"]);
    }

    [Fact]
    public void Certificate_ExpiringWithinTheWarning_ExpiredIsCritical()
    {
        CertificateFacts Expiring(TimeSpan left) => new("/var/lib/kubelet/pki/kubelet.crt", "CN=node-7", "CN=node-7-ca", Now.AddYears(-1), Now + left);

        Assert.Null(KubeletCertificateRule.Check(Context, Expiring(_options.CertificateExpiryWarning), "kubelet.crt", _options));
        var soon = KubeletCertificateRule.Check(Context, Expiring(_options.CertificateExpiryWarning - TimeSpan.FromHours(1)), "kubelet.crt", _options);
        var expired = KubeletCertificateRule.Check(Context, Expiring(TimeSpan.Zero), "kubelet.crt", _options);

        Assert.NotNull(soon);
        Assert.Equal(FindingCodes.KubeletCertExpiring, soon.Code);
        Assert.Equal(Severity.Warning, soon.Severity);
        Assert.Equal(new FindingSubject(SubjectKind.File, "/var/lib/kubelet/pki/kubelet.crt"), soon.Subject);
        Assert.Equal("CN=node-7", soon.Attributes["subject"]);
        Assert.NotNull(expired);
        Assert.Equal(FindingCodes.KubeletCertExpired, expired.Code);
        Assert.Equal(Severity.Critical, expired.Severity);
        Assert.Equal("Kubelet certificate kubelet.crt has expired", expired.Title);
    }
}
