using System.Buffers;
using System.Text;
using Periscope.Agent.Collection;

namespace Periscope.Agent.Collection.Node;

/// <summary>The kubelet process as the host's /proc shows it (the DaemonSet mounts the host root, so /proc is the host's).</summary>
internal sealed record KubeletProcess(int Pid, IReadOnlyList<string> Arguments)
{
    /// <summary>The longest command line read (the kernel's own limit for /proc/PID/cmdline reads is a page per read, the whole is unbounded).</summary>
    private const int MaxCommandLine = 64 * 1024;

    /// <summary>
    /// The first process whose program is named <c>kubelet</c>. Called by the signal loop's checks every pass, so each
    /// command line is read into one pooled buffer and only the kubelet's is decoded: the process table of a busy node
    /// costs no allocation per process.
    /// </summary>
    public static KubeletProcess? Find(INodeFileSystem host)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxCommandLine);
        try
        {
            foreach (var entry in host.ListDirectory("/proc"))
            {
                if (!int.TryParse(entry, out var pid))
                {
                    continue;
                }

                int length;
                try
                {
                    using var stream = host.OpenRead($"/proc/{entry}/cmdline");
                    length = ReadUpTo(stream, buffer.AsSpan(0, MaxCommandLine));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    continue; // gone while we looked, or not ours to read
                }

                var commandLine = buffer.AsSpan(0, length);
                var end = commandLine.IndexOf((byte)0);
                var program = end < 0 ? commandLine : commandLine[..end];
                var name = program[(program.LastIndexOf((byte)'/') + 1)..];
                if (!name.SequenceEqual("kubelet"u8))
                {
                    continue;
                }

                var arguments = Encoding.UTF8.GetString(commandLine).TrimEnd('\0').Split('\0');
                return new KubeletProcess(pid, arguments);
            }

            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int ReadUpTo(Stream stream, Span<byte> buffer)
    {
        var total = 0;
        int read;
        while (total < buffer.Length && (read = stream.Read(buffer[total..])) > 0)
        {
            total += read;
        }

        return total;
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
