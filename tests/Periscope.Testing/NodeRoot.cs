namespace Periscope.Testing;

/// <summary>
/// Builds a directory that looks like a node's filesystem (a node root): a directory that looks like a node is a node.
/// </summary>
public sealed class NodeRoot : IDisposable
{
    private readonly TempDirectory _directory = new("periscope-node");

    public string Path => _directory.Path;

    public NodeRoot File(string nodePath, string content)
    {
        var path = Real(nodePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        return this;
    }

    public NodeRoot Dir(string nodePath)
    {
        Directory.CreateDirectory(Real(nodePath));
        return this;
    }

    public NodeRoot Symlink(string nodePath, string target)
    {
        var path = Real(nodePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.CreateSymbolicLink(path, target);
        return this;
    }

    /// <summary>Copies a committed fixture node (tests/fixtures/nodes/NAME) into this root.</summary>
    public NodeRoot CopyFixture(string name)
    {
        var source = Fixtures.Node(name);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = System.IO.Path.GetRelativePath(source, file);
            if (relative == ".gitkeep" || relative.EndsWith("/.gitkeep", StringComparison.Ordinal))
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Real(relative))!);
                continue;
            }

            var destination = Real(relative);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(destination)!);
            System.IO.File.Copy(file, destination, overwrite: true);
        }

        return this;
    }

    public string Real(string nodePath) => System.IO.Path.Combine(Path, nodePath.TrimStart('/'));

    public void Dispose() => _directory.Dispose();
}
