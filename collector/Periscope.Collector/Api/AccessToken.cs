using System.Security.Cryptography;
using System.Text;

namespace Periscope.Collector.Api;

/// <summary>The operator token, read from its file on every check (a rotated Secret takes effect at once).</summary>
internal sealed class AccessToken(ServerOptions options)
{
    /// <summary>
    /// A fingerprint of the current token (a keyed hash, never the token), bound into each browser session so that a
    /// session ends when the token is rotated; null when no token can be read.
    /// </summary>
    public string? Fingerprint()
    {
        try
        {
            var expected = File.ReadAllText(options.TokenFile!).Trim();
            return expected.Length == 0
                ? null
                : Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("periscope-session-v1"), Encoding.UTF8.GetBytes(expected)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public bool Matches(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        string expected;
        try
        {
            expected = File.ReadAllText(options.TokenFile!).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // no readable token: nobody is let in
        }

        return expected.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented.Trim()), Encoding.UTF8.GetBytes(expected));
    }
}
