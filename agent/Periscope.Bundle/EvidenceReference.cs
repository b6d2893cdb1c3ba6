using System.Text.Json.Serialization;

namespace Periscope.Bundle;

/// <summary>A place in the bundle's evidence that supports a finding.</summary>
/// <param name="File">Bundle-relative path of the evidence file (<c>kernel/kmsg.log</c>).</param>
/// <param name="Line">1-based line number, or <see langword="null"/> for the file as a whole.</param>
public sealed record EvidenceReference([property: JsonRequired] string File, long? Line);
