using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Periscope.Testing;

namespace Periscope.EndToEnd.Tests;

/// <summary>
/// A Blob store read and written with Azure identities: Azurite over TLS with OAuth, the fake Entra ID issuing its
/// tokens, both under a private test CA (child processes trust it through <see cref="AuthorityPem"/> as
/// SSL_CERT_FILE), and a new container, created here with the account key through a client that trusts the CA.
/// </summary>
internal sealed class IdentityStore : IAsyncDisposable
{
    private IdentityStore(TestCertificates tls, Azurite azurite, FakeEntraId entra, BlobContainerClient container)
        => (Tls, Azurite, Entra, Container) = (tls, azurite, entra, container);

    public TestCertificates Tls { get; }

    public Azurite Azurite { get; }

    public FakeEntraId Entra { get; }

    public BlobContainerClient Container { get; }

    /// <summary>The test CA's certificate, for SSL_CERT_FILE.</summary>
    public string AuthorityPem => Tls.AuthorityPem;

    /// <summary>The container's https URL, without a query.</summary>
    public string ContainerUrl => $"{Azurite.ServiceUri}/{Container.Name}";

    public static async Task<IdentityStore> StartAsync(string containerPrefix)
    {
        var tls = new TestCertificates();
        var azurite = Azurite.WithTls(tls);
        FakeEntraId? entra = null;
        try
        {
            await azurite.StartAsync();
            azurite.Require();
            entra = await FakeEntraId.StartAsync(tls);
            var options = new BlobClientOptions
            {
                Transport = new HttpClientTransport(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, certificate, _, _) => tls.Trusts(certificate) }),
            };
            var container = new BlobContainerClient(azurite.ConnectionString, containerPrefix + Guid.NewGuid().ToString("N")[..8], options);
            await container.CreateAsync();
            return new IdentityStore(tls, azurite, entra, container);
        }
        catch
        {
            await (entra?.DisposeAsync() ?? ValueTask.CompletedTask);
            await azurite.DisposeAsync();
            tls.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Entra.DisposeAsync();
        await Azurite.DisposeAsync();
        Tls.Dispose();
    }
}
