using Xunit;

namespace Periscope.Testing;

/// <summary>
/// Preconditions on the machine. Outside CI a missing component skips the test with a loud reason; in CI
/// (<c>CI=true</c>) it fails, so a test can never pass because what it needs was absent.
/// </summary>
public static class Requires
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void That(bool condition, string whatIsMissing)
    {
        if (condition)
        {
            return;
        }

        var message = $"PRECONDITION MISSING: {whatIsMissing}";
        if (InCi)
        {
            Assert.Fail(message + " (CI=true: required)");
        }

        Assert.Skip(message);
    }

    public static void Root() => That(Environment.UserName == "root" || geteuid() == 0, "the test must run as root");

    public static string Tool(string name)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);
        That(path is not null, $"'{name}' is not installed (README's test command installs it)");
        return path!;
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();
}
