namespace Periscope.Agent.Collection;

/// <summary>
/// The finding codes collectors' rules raise, named once: rules build observations with them and the analysis's
/// catalog (<c>Analysis/FindingCatalog</c>) registers them. Codes from a rule table (kernel, kubelet log signatures)
/// live in that table's data.
/// </summary>
internal static class FindingCodes
{
    // system
    public const string MemoryPressure = "MEMORY_PRESSURE";
    public const string DiskPressure = "DISK_PRESSURE";
    public const string InodePressure = "INODE_PRESSURE";
    public const string PidPressure = "PID_PRESSURE";
    public const string ConntrackNearLimit = "CONNTRACK_NEAR_LIMIT";
    public const string FsReadOnlyMount = "FS_READONLY_MOUNT";
    public const string ClockUnsynced = "CLOCK_UNSYNCED";
}
