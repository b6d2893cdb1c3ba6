using System.Text;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Collection.Node;

/// <summary>The kubelet process as the host's /proc shows it (the DaemonSet mounts the host root, so /proc is the host's).</summary>
internal sealed record KubeletProcess(int Pid, IReadOnlyList<string> Arguments)
{
    public static KubeletProcess? Find(INodeFileSystem host)
    {
        foreach (var entry in host.ListDirectory("/proc"))
        {
            if (!int.TryParse(entry, out var pid))
            {
                continue;
            }

            string cmdline;
            try
            {
                using var reader = new StreamReader(host.OpenRead($"/proc/{entry}/cmdline"), Encoding.UTF8);
                var buffer = new char[64 * 1024];
                cmdline = new string(buffer, 0, reader.ReadBlock(buffer, 0, buffer.Length));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // gone while we looked, or not ours to read
            }

            var arguments = cmdline.TrimEnd('\0').Split('\0');
            if (arguments[0].Length > 0 && Path.GetFileName(arguments[0]) == "kubelet")
            {
                return new KubeletProcess(pid, arguments);
            }
        }

        return null;
    }

    /// <summary>The value of <c>--name=value</c> or <c>--name value</c>.</summary>
    public string? Flag(string name)
    {
        for (var i = 1; i < Arguments.Count; i++)
        {
            var argument = Arguments[i];
            if (argument.StartsWith($"--{name}=", StringComparison.Ordinal))
            {
                return argument[(name.Length + 3)..];
            }

            if (argument == $"--{name}" && i + 1 < Arguments.Count)
            {
                return Arguments[i + 1];
            }
        }

        return null;
    }

    /// <summary>The command line with the values of flags that may carry credentials blanked.</summary>
    public IReadOnlyList<string> SafeArguments()
    {
        var safe = new List<string>(Arguments.Count);
        var blankNext = false;
        foreach (var argument in Arguments)
        {
            if (blankNext)
            {
                safe.Add("***REDACTED:kubelet-flag***");
                blankNext = false;
                continue;
            }

            var sensitive = argument.StartsWith("--", StringComparison.Ordinal)
                && (argument.Contains("token", StringComparison.OrdinalIgnoreCase) || argument.Contains("password", StringComparison.OrdinalIgnoreCase)
                    || argument.Contains("secret", StringComparison.OrdinalIgnoreCase));
            var eq = argument.IndexOf('=', StringComparison.Ordinal);
            if (sensitive && eq > 0)
            {
                safe.Add(new StringBuilder(argument, 0, eq + 1, eq + 32).Append("***REDACTED:kubelet-flag***").ToString());
            }
            else
            {
                safe.Add(argument);
                blankNext = sensitive;
            }
        }

        return safe;
    }

    /// <summary><c>--node-labels=a=b,c=d</c>.</summary>
    public IReadOnlyDictionary<string, string>? NodeLabels()
    {
        var value = Flag("node-labels");
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            labels[eq < 0 ? pair : pair[..eq]] = eq < 0 ? string.Empty : pair[(eq + 1)..];
        }

        return labels;
    }
}
