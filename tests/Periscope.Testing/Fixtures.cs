namespace Periscope.Testing;

/// <summary>Paths of committed fixtures and of the repository.</summary>
public static class Fixtures
{
    private static readonly Lazy<string> RepositoryRoot = new(() =>
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Periscope.NET.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Periscope.NET.sln not found above the test binaries.");
    });

    public static string Repository => RepositoryRoot.Value;

    public static string Node(string name) => Path.Combine(Repository, "tests", "fixtures", "nodes", name);

    public static string Docs(params string[] parts) => Path.Combine([Repository, "docs", .. parts]);
}
