namespace Periscope.Bundle;

/// <summary>Rules for entry names inside a bundle: relative, forward slashes, no <c>..</c>, no empty segment.</summary>
public static class BundleEntryName
{
    /// <summary>Why <paramref name="name"/> cannot name a bundle entry, or <see langword="null"/> when it can.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "entry name is empty";
        }

        if (name.Length > 512)
        {
            return $"entry name is longer than 512 characters";
        }

        if (name[0] == '/' || name.Contains('\\', StringComparison.Ordinal) || name.Contains(':', StringComparison.Ordinal))
        {
            return $"entry name '{name}' is not a relative forward-slash path";
        }

        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
            {
                return $"entry name '{name}' has an empty, '.' or '..' segment";
            }
        }

        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                return $"entry name has a control character";
            }
        }

        return null;
    }
}
