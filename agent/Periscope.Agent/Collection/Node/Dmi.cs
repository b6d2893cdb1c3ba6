namespace Periscope.Agent.Collection.Node;

/// <summary>The machine's DMI identity (<c>/sys/class/dmi/id</c> under the host root), as the firmware gives it.</summary>
/// <param name="Vendor"><c>sys_vendor</c>.</param>
/// <param name="ChassisAssetTag"><c>chassis_asset_tag</c>.</param>
internal sealed record DmiIdentity(string? Vendor, string? ChassisAssetTag)
{
    /// <summary>The chassis asset tag every Azure VM carries (a Hyper-V VM elsewhere has the same vendor, not this tag).</summary>
    public const string AzureChassisAssetTag = "7783-7084-3265-9085-8269-3286-77";

    /// <summary>
    /// True on an Azure VM. Decided from the firmware, never from the metadata service answering or not: off Azure
    /// nothing is sent to the link-local address, and on Azure a metadata service that does not answer is a fault.
    /// </summary>
    public bool IsAzure => string.Equals(ChassisAssetTag, AzureChassisAssetTag, StringComparison.Ordinal);

    /// <summary>Why the machine is or is not taken for an Azure VM, for a human.</summary>
    public string Describe()
        => IsAzure ? $"DMI says Azure (vendor '{Vendor}', chassis asset tag {ChassisAssetTag})"
            : Vendor is null && ChassisAssetTag is null ? "no DMI identity under the host root (/sys/class/dmi/id): not an Azure VM"
            : $"DMI says this is not an Azure VM (vendor '{Vendor}', chassis asset tag '{ChassisAssetTag}')";

    /// <summary>Reads the two DMI values (small sysfs files; a missing or unreadable one is null).</summary>
    public static DmiIdentity Read(INodeFileSystem host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return new DmiIdentity(Value(host, "/sys/class/dmi/id/sys_vendor"), Value(host, "/sys/class/dmi/id/chassis_asset_tag"));
    }

    private static string? Value(INodeFileSystem host, string path)
    {
        try
        {
            if (!host.FileExists(path))
            {
                return null;
            }

            using var stream = host.OpenRead(path);
            var buffer = new byte[256];
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var text = System.Text.Encoding.UTF8.GetString(buffer, 0, read).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
