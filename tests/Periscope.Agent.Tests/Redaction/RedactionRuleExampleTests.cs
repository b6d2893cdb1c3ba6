using System.Text;
using Periscope.Agent.Redaction;
using Xunit;

namespace Periscope.Agent.Tests.Redaction;

/// <summary>
/// One made-up example per rule name (the ones docs/redaction.md shows): each must be replaced under that name, and
/// every name a default rule counts under must have one, so a rule cannot be added without a test.
/// </summary>
public sealed class RedactionRuleExampleTests
{
    private static readonly Dictionary<string, (string File, string Text, string Secret)> Examples = new(StringComparer.Ordinal)
    {
        ["pem-private-key"] = ("key.log", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBx7Qk3vLp9sT2wR8yN4mZ6aC1dF5gH0jK3lP7qS9uV2oAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n", "MHcCAQEEIBx7Qk3vLp9sT2wR8yN4mZ6aC1dF5gH0jK3lP7qS9uV2oAoGCCqGSM49"),
        ["putty-private-key"] = ("id.ppk", "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\nAAAAIQDxQ2v9Lm3Zk8Rt5Wy7Bp1Cq4Ds6Ef8Gh0Ij2Kl4Mn6==\nPrivate-MAC: 00\n", "AAAAIQDxQ2v9Lm3Zk8Rt5Wy7Bp1Cq4Ds6Ef8Gh0Ij2Kl4Mn6=="),
        ["azure-sas-url"] = ("up.log", "PUT https://diag.blob.core.windows.net/b/n.zip?sv=2022-11-02&se=2026-12-01&sp=rw&sig=Q2x9Lm3Zk8Rt5Wy7Bp1Cq4Ds%3D\n", "Q2x9Lm3Zk8Rt5Wy7Bp1Cq4Ds"),
        ["azure-sas-signature"] = ("up.log", "retry with token sv=2022-11-02&sig=Zk8Rt5Wy7Bp1Cq4DsQ2x9%3D\n", "Zk8Rt5Wy7Bp1Cq4DsQ2x9"),
        ["azure-storage-key"] = ("conn.log", "DefaultEndpointsProtocol=https;AccountName=d;AccountKey=Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA=;EndpointSuffix=core.windows.net\n", "Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA="),
        ["github-token"] = ("t.log", "ghp_Q3x9Lm2Zk8Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij4Kl\n", "ghp_Q3x9Lm2Zk8Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij4Kl"),
        ["gitlab-token"] = ("t.log", "glpat-Xq2Lm9Zk8Rt5Wy7Bp1Cq\n", "glpat-Xq2Lm9Zk8Rt5Wy7Bp1Cq"),
        ["slack-token"] = ("t.log", "xoxb-123456789012-1234567890123-Ab1Cd2Ef3Gh4\n", "xoxb-123456789012-1234567890123-Ab1Cd2Ef3Gh4"),
        ["webhook-url"] = ("t.log", "https://hooks.slack.com/services/T00000000/B00000000/Xy1Zq2Wv3Ut4Sr5Qp6On7Ml8\n", "Xy1Zq2Wv3Ut4Sr5Qp6On7Ml8"),
        ["anthropic-key"] = ("t.log", "sk-ant-api03-Qx9Lm2Zk8Rt5Wy7Bp1Cq4Ds6\n", "sk-ant-api03-Qx9Lm2Zk8Rt5Wy7Bp1Cq4Ds6"),
        ["openai-key"] = ("t.log", "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2\n", "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2"),
        ["huggingface-token"] = ("t.log", "hf_Zq8Lm2Xk9Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij\n", "hf_Zq8Lm2Xk9Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij"),
        ["vault-token"] = ("t.log", "hvs.CAESIJq8Lm2Xk9Rt5Wy7Bp1Cq4Ds\n", "hvs.CAESIJq8Lm2Xk9Rt5Wy7Bp1Cq4Ds"),
        ["openshift-token"] = ("t.log", "sha256~Xk2Lm9Zq8Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij4Kl6Mn8Op\n", "sha256~Xk2Lm9Zq8Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij4Kl6Mn8Op"),
        ["google-api-key"] = ("t.log", "AIzaSyQx9Lm2Zk8Rt5Wy7Bp1Cq4Ds6Ef0Gh2I8j\n", "AIzaSyQx9Lm2Zk8Rt5Wy7Bp1Cq4Ds6Ef0Gh2I8j"),
        ["entra-client-secret"] = ("t.log", "aB38Q~Zq8Lm2Xk9Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij\n", "aB38Q~Zq8Lm2Xk9Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij"),
        ["stripe-key"] = ("t.log", "sk_live_51HQx9Lm2Zk8Rt5Wy7Bp\n", "sk_live_51HQx9Lm2Zk8Rt5Wy7Bp"),
        ["sendgrid-key"] = ("t.log", "SG.Ab12Cd34Ef56Gh78Ij90.Kl12Mn34Op56Qr78St90Uv12Wx34Yz56Ab78Cd90Ef\n", "Kl12Mn34Op56Qr78St90Uv12Wx34Yz56Ab78Cd90Ef"),
        ["npm-token"] = ("t.log", "npm_Qx9Lm2Zk8Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij4Kl7\n", "npm_Qx9Lm2Zk8Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij4Kl7"),
        ["pypi-token"] = ("t.log", "pypi-AgEIcHlwaS5vcmcCJGQx9Lm2Zk8Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij4Kl6Mn8Op\n", "pypi-AgEIcHlwaS5vcmcCJGQx9Lm2Zk8Rt5Wy7Bp1Cq4Ds6Ef0Gh2Ij4Kl6Mn8Op"),
        ["bearer-token"] = ("t.log", "Authorization: Bearer Qx9Lm2Zk8Rt5Wy7Bp1Cq4Ds\n", "Qx9Lm2Zk8Rt5Wy7Bp1Cq4Ds"),
        ["basic-auth"] = ("t.log", "headers=map[Authorization:[Basic dXNlcjpQeDlMbTI=]]\n", "dXNlcjpQeDlMbTI="),
        ["jwt"] = ("t.log", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJub2RlIn0.\n", "eyJzdWIiOiJub2RlIn0"),
        ["url-credentials"] = ("t.log", "postgres://app:Pw1Qx9Lm@db/shop\n", "Pw1Qx9Lm"),
        ["kubeconfig-credential"] = ("kubeconfig", "    client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t\n", "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t"),
        ["registry-auth"] = ("config.json", "{\"auths\": {\"r.io\": {\"auth\": \"dXNlcjpQeDlMbTJaazg=\"}}}\n", "dXNlcjpQeDlMbTJaazg="),
        ["aws-access-key"] = ("t.log", "AKIAQX3LM2ZK8RT5WY7B\n", "AKIAQX3LM2ZK8RT5WY7B"),
        ["cli-credentials"] = ("t.log", "+ curl -u backup:Pw1Qx9Lm https://r.internal\n", "Pw1Qx9Lm"),
        ["dsn-credentials"] = ("t.log", "dsn=shop:Pw2Qx9Lm@tcp(db:3306)/orders\n", "Pw2Qx9Lm"),
        ["kubernetes-secret"] = ("s.yaml", "apiVersion: v1\nkind: Secret\ndata:\n  .dockerconfigjson: eyJhdXRocyI6e319\n", "eyJhdXRocyI6e319"),
        ["password"] = ("t.yaml", "db_pass: m{{h9Kz[q];x\n", "m{{h9Kz[q];x"),
        ["token-value"] = ("t.yaml", "discordToken: MTA5OTk3NDEy.Gh2x.Zp8vY3wL0n\n", "MTA5OTk3NDEy.Gh2x.Zp8vY3wL0n"),
        ["api-key"] = ("Main.java", "String apiKey = \"Java-Api-K3y-991\";\n", "Java-Api-K3y-991"),
        ["secret-value"] = ("ceph.keyring", "\tkey = AQBvaBFZAAAAABAA9VHgwCg3rWn8fMaX8KL01A==\n", "AQBvaBFZAAAAABAA9VHgwCg3rWn8fMaX8KL01A=="),
        ["auth-header"] = ("t.log", "-H \"Authorization: Token T0k3n-H3ad3r-Val\"\n", "T0k3n-H3ad3r-Val"),
        ["secret-env"] = ("t.log", "{\"name\": \"DB_PASSWORD\", \"value\": \"Pg pass w0rd\"}\n", "Pg pass w0rd"),
    };

    [Fact]
    public void EveryRuleName_HasAnExample()
        => Assert.All(DefaultRedactionRules.Names, name => Assert.True(Examples.ContainsKey(name), $"{name} has no example"));

    public static TheoryData<string> RuleNames() => [.. Examples.Keys.Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Example_IsReplacedUnderItsRule(string rule)
    {
        var (file, text, secret) = Examples[rule];

        var (output, counts) = RedactionTestSupport.Redact(Encoding.UTF8.GetBytes(text), file);

        Assert.True(counts.GetValueOrDefault(rule) >= 1, $"{rule}: counted {string.Join(", ", counts)}");
        Assert.DoesNotContain(secret, Encoding.UTF8.GetString(output), StringComparison.Ordinal);
    }
}
