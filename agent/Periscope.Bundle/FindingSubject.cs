using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>What a finding is about: its kind and an id unique within that kind on the node.</summary>
/// <param name="Kind">The kind of subject.</param>
/// <param name="Id">The subject's id (node name, container id, device name, ...).</param>
public sealed record FindingSubject([property: JsonRequired] SubjectKind Kind, [property: JsonRequired] string Id);
