using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Periscope.Testing;

/// <summary>
/// A FAKE Azure Instance Metadata Service (the real one lives at a link-local address only Azure VMs reach), in process
/// on loopback, with the documented paths and shapes: <c>GET /metadata/instance/compute?api-version=…</c> and
/// <c>GET /metadata/scheduledevents?api-version=…</c>. Like the real service it answers 400 without the
/// <c>Metadata: true</c> header, 400 without an api-version, and 405 to anything but GET on these paths. The first
/// scheduled-events answer can be delayed (<see cref="FirstEventsDelay"/>: the real first call after a day idle takes
/// up to two minutes); <see cref="Hang"/> holds every request unanswered. Every request is recorded.
/// </summary>
public sealed class FakeInstanceMetadataService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<(string Method, string Path, string Metadata)> _requests = [];
    private bool _eventsAnswered;

    private FakeInstanceMetadataService(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The compute document served.</summary>
    public string Compute { get; set; } = RegularCompute("aks-nodepool1-12345678-vmss_0");

    /// <summary>The scheduled events document served.</summary>
    public string ScheduledEvents { get; set; } = """{"DocumentIncarnation":0,"Events":[]}""";

    /// <summary>How long the first scheduled-events request waits before it is answered.</summary>
    public TimeSpan FirstEventsDelay { get; set; }

    /// <summary>While true, every request is held until the client gives up.</summary>
    public bool Hang { get; set; }

    public IReadOnlyList<(string Method, string Path, string Metadata)> Requests
    {
        get
        {
            lock (_lock)
            {
                return _requests.ToList();
            }
        }
    }

    public static async Task<FakeInstanceMetadataService> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        var imds = new FakeInstanceMetadataService(app);
        app.Run(imds.HandleAsync);
        await app.StartAsync();
        imds.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return imds;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        lock (_lock)
        {
            _requests.Add((context.Request.Method, path + context.Request.QueryString, context.Request.Headers["Metadata"].ToString()));
        }

        if (Hang)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        string document;
        switch (path)
        {
            case "/metadata/instance/compute":
                document = Compute;
                break;
            case "/metadata/scheduledevents":
                document = ScheduledEvents;
                bool first;
                lock (_lock)
                {
                    first = !_eventsAnswered;
                    _eventsAnswered = true;
                }

                if (first && FirstEventsDelay > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(FirstEventsDelay, context.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                        lock (_lock)
                        {
                            _eventsAnswered = false; // the client gave up: the next request is still the slow first one
                        }

                        return;
                    }
                }

                break;
            default:
                context.Response.StatusCode = 404;
                return;
        }

        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.StatusCode = 405;
            return;
        }

        if (context.Request.Headers["Metadata"] != "true")
        {
            await WriteAsync(context, 400, """{"error":"Bad request. Required metadata header not specified"}""");
            return;
        }

        if (string.IsNullOrEmpty(context.Request.Query["api-version"]))
        {
            await WriteAsync(context, 400, """{"error":"Bad request. api-version was not specified in the request"}""");
            return;
        }

        await WriteAsync(context, 200, document);
    }

    private static async Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(body), context.RequestAborted);
    }

    /// <summary>A compute document as IMDS gives it (2025-04-07 shape, abridged), with the secrets a bundle must never carry.</summary>
    public static string RegularCompute(string name, string priority = "Regular", string priorityKey = "priority") => $$"""
        {
          "azEnvironment": "AzurePublicCloud",
          "evictionPolicy": "{{(priority == "Spot" ? "Delete" : "")}}",
          "isHostCompatibilityLayerVm": "false",
          "licenseType": "",
          "location": "westeurope",
          "name": "{{name}}",
          "offer": "",
          "osProfile": {
            "adminUsername": "azureuser",
            "computerName": "{{name.Replace("_", "", StringComparison.Ordinal)}}",
            "disablePasswordAuthentication": "true"
          },
          "osType": "Linux",
          "placementGroupId": "pg-0c3b8d7e",
          "plan": { "name": "", "product": "", "publisher": "" },
          "platformFaultDomain": "0",
          "platformUpdateDomain": "0",
          "{{priorityKey}}": "{{priority}}",
          "provider": "Microsoft.Compute",
          "publicKeys": [
            { "keyData": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7-fake-key-data azureuser", "path": "/home/azureuser/.ssh/authorized_keys" }
          ],
          "publisher": "",
          "resourceGroupName": "MC_rg_cluster_westeurope",
          "resourceId": "/subscriptions/8d10da13-8125-4ba9-a717-bf7490507b3d/resourceGroups/MC_rg_cluster_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0",
          "securityProfile": { "secureBootEnabled": "false", "virtualTpmEnabled": "false" },
          "sku": "",
          "storageProfile": { "osDisk": { "name": "osdisk", "osType": "Linux" } },
          "subscriptionId": "8d10da13-8125-4ba9-a717-bf7490507b3d",
          "tags": "aks-managed-poolName:nodepool1;secret-tag:https://periscope-kv.vault.azure.net/secrets/db-password",
          "tagsList": [ { "name": "aks-managed-poolName", "value": "nodepool1" } ],
          "userData": "c2VjcmV0LXVzZXItZGF0YQ==",
          "customData": "Y3VzdG9tLWRhdGE=",
          "version": "202411.12.0",
          "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
          "vmScaleSetName": "aks-nodepool1-12345678-vmss",
          "vmSize": "Standard_D4s_v5",
          "zone": "2"
        }
        """;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
