namespace Periscope.Bundle;

/// <summary>
/// The bundle schema version this library writes and the rule it reads by: a reader accepts any minor version of its
/// own major (ignoring fields it does not know) and refuses a newer major.
/// </summary>
public static class BundleSchema
{
    /// <summary>Major version: bumped only for a breaking change.</summary>
    public const int Major = 1;

    /// <summary>Minor version: bumped when a field is added.</summary>
    public const int Minor = 2;

    /// <summary>The version string written into every document, <c>MAJOR.MINOR</c>.</summary>
    public const string Version = "1.2";

    /// <summary>Name of the manifest entry.</summary>
    public const string ManifestEntry = "manifest.json";

    /// <summary>Name of the facts entry.</summary>
    public const string FactsEntry = "facts.json";

    /// <summary>Name of the findings entry.</summary>
    public const string FindingsEntry = "findings.json";

    /// <summary>
    /// Parses a <c>MAJOR.MINOR</c> version string.
    /// </summary>
    /// <returns><see langword="false"/> when the string is not of that form.</returns>
    public static bool TryParse(string? version, out int major, out int minor)
    {
        major = 0;
        minor = 0;
        if (string.IsNullOrEmpty(version))
        {
            return false;
        }

        var dot = version.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
            && int.TryParse(version.AsSpan(0, dot), System.Globalization.NumberStyles.None, null, out major)
            && int.TryParse(version.AsSpan(dot + 1), System.Globalization.NumberStyles.None, null, out minor);
    }

    /// <summary>
    /// Checks that a document of the given version can be read by this library.
    /// </summary>
    /// <returns><see langword="null"/> when readable, else the reason it is not.</returns>
    public static string? CheckReadable(string? version, string document)
    {
        if (!TryParse(version, out var major, out _))
        {
            return $"{document} has no valid schemaVersion (found '{version}')";
        }

        return major > Major
            ? $"{document} has schema version {version}, newer than the {Major}.x this reader understands; upgrade the reader"
            : major < Major
                ? $"{document} has schema version {version}, older than the {Major}.x this reader understands"
                : null;
    }
}
