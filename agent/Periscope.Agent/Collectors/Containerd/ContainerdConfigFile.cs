using System.Text.RegularExpressions;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Collectors.Containerd;

/// <summary>
/// Copies containerd's config file into the bundle with the values of credential keys (registry <c>password</c>,
/// <c>auth</c>, <c>identitytoken</c>, …) blanked, line for line. The general redaction stage of the bundle writer
/// applies on top of this; this is the collector's own guard for a file known to hold registry credentials.
/// </summary>
internal static partial class ContainerdConfigFile
{
    private const int MaxBytes = 1024 * 1024;

    public static async Task CollectAsync(CollectionContext context, string path, CancellationToken cancellationToken)
    {
        string? text;
        try
        {
            text = await context.Host.TryReadTextAsync(path, MaxBytes, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            context.Output.MarkPartial($"{path} could not be read: {ex.Message}");
            return;
        }

        if (text is null)
        {
            return; // containerd runs on its built-in defaults: nothing to copy
        }

        var (blanked, count) = Blank(text);
        await context.Output.WriteTextAsync("config.toml", blanked, cancellationToken);
        if (count > 0)
        {
            context.Output.Count("configSecretsBlanked", count);
        }
    }

    public static (string Text, int Count) Blank(string text)
    {
        var count = 0;
        var result = SecretLine().Replace(text, match =>
        {
            count++;
            return match.Groups["key"].Value + "\"***REDACTED:containerd-config***\"";
        });
        return (result, count);
    }

    [GeneratedRegex("""^(?<key>[ \t]*"?(?:password|auth|identitytoken|identity_token|registry_token|token|secret|client_key|key_data)"?[ \t]*=[ \t]*).*$""",
        RegexOptions.Multiline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretLine();
}
