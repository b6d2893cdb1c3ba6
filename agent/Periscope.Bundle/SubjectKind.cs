using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>What a finding is about.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SubjectKind>))]
public enum SubjectKind
{
    /// <summary>The node as a whole; the id is the node name.</summary>
    [JsonStringEnumMemberName("node")] Node,

    /// <summary>A container; the id is its runtime container id.</summary>
    [JsonStringEnumMemberName("container")] Container,

    /// <summary>A pod; the id is its uid.</summary>
    [JsonStringEnumMemberName("pod")] Pod,

    /// <summary>A server the node talks to (a DNS server, the API server); the id is its address.</summary>
    [JsonStringEnumMemberName("server")] Server,

    /// <summary>A block or character device; the id is its kernel name.</summary>
    [JsonStringEnumMemberName("device")] Device,

    /// <summary>A network interface; the id is its name.</summary>
    [JsonStringEnumMemberName("interface")] Interface,

    /// <summary>A file or mount point; the id is its path as seen on the node.</summary>
    [JsonStringEnumMemberName("file")] File,
}
