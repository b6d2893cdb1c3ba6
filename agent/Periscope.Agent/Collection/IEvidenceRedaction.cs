namespace Periscope.Agent.Collection;

/// <summary>
/// What every evidence file passes through on its way to the staging area: the bundle's redaction. The framework
/// knows only this shape; the run hands it the redactor (<c>Redaction/Redactor</c>) for the bundle.
/// </summary>
internal interface IEvidenceRedaction
{
    /// <summary>
    /// A stream that redacts the text written to it line by line into <paramref name="destination"/> (which it
    /// disposes), counting what it replaced by rule into <paramref name="counts"/>.
    /// </summary>
    Stream RedactText(Stream destination, Dictionary<string, long> counts);

    /// <summary>A JSON document redacted value by value (escapes decoded), so it stays valid JSON.</summary>
    byte[] RedactJson(byte[] json, Dictionary<string, long> counts);
}
