namespace Periscope.Agent.Collection;

/// <summary>Space and inode use of one filesystem (from statvfs).</summary>
/// <param name="SizeBytes">Total size.</param>
/// <param name="AvailableBytes">Bytes available to unprivileged users.</param>
/// <param name="Inodes">Total inodes (0 for filesystems without a fixed inode table).</param>
/// <param name="InodesFree">Free inodes.</param>
public sealed record FileSystemUsage(long SizeBytes, long AvailableBytes, long Inodes, long InodesFree);
