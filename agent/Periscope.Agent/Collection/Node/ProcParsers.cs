using System.Globalization;
using System.Text;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collection.Node;

/// <summary>Parsers for the small /proc and /etc files the system collector reads. Garbage lines are skipped.</summary>
internal static class ProcParsers
{
    /// <summary><c>/proc/meminfo</c>: values in bytes, with the 1-based line of each key.</summary>
    public static Dictionary<string, (long Bytes, int Line)> Meminfo(string text)
    {
        var values = new Dictionary<string, (long, int)>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var parts = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            var multiplier = parts.Length > 1 && parts[1] == "kB" ? 1024L : 1L;
            values[line[..colon]] = (value * multiplier, lineNumber);
        }

        return values;
    }

    /// <summary><c>/proc/loadavg</c>: <c>0.10 0.20 0.30 2/345 6789</c>.</summary>
    public static LoadFacts? LoadAverage(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 4)
        {
            return null;
        }

        var slash = parts[3].IndexOf('/', StringComparison.Ordinal);
        return slash > 0
               && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var l1)
               && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var l5)
               && double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var l15)
               && long.TryParse(parts[3].AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var runnable)
               && long.TryParse(parts[3].AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var threads)
            ? new LoadFacts(l1, l5, l15, runnable, threads)
            : null;
    }

    /// <summary>A <c>/proc/pressure/*</c> file: <c>some avg10=0.00 avg60=0.00 avg300=0.00 total=0</c>.</summary>
    public static PressureFacts? Pressure(string text)
    {
        PressureLine? some = null, full = null;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 5)
            {
                continue;
            }

            double avg10 = 0, avg60 = 0, avg300 = 0;
            long total = 0;
            var ok = true;
            foreach (var part in parts.AsSpan(1))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    ok = false;
                    continue;
                }

                var value = part.AsSpan(eq + 1);
                switch (part[..eq])
                {
                    case "avg10": ok &= double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out avg10); break;
                    case "avg60": ok &= double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out avg60); break;
                    case "avg300": ok &= double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out avg300); break;
                    case "total": ok &= long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out total); break;
                    default: break;
                }
            }

            if (!ok)
            {
                continue;
            }

            var parsed = new PressureLine(avg10, avg60, avg300, total);
            if (parts[0] == "some")
            {
                some = parsed;
            }
            else if (parts[0] == "full")
            {
                full = parsed;
            }
        }

        return some is null && full is null ? null : new PressureFacts(some, full);
    }

    /// <summary>One line of <c>/proc/mounts</c>.</summary>
    public sealed record MountEntry(string Device, string MountPoint, string FsType, IReadOnlyList<string> Options, int Line)
    {
        public bool ReadOnly => Options.Contains("ro");
    }

    /// <summary><c>/proc/mounts</c>, with octal escapes (<c>\040</c> for a space) decoded.</summary>
    public static List<MountEntry> Mounts(string text)
    {
        var mounts = new List<MountEntry>();
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 4 || !parts[1].StartsWith('/'))
            {
                continue;
            }

            mounts.Add(new MountEntry(Unescape(parts[0]), Unescape(parts[1]), parts[2], parts[3].Split(','), lineNumber));
        }

        return mounts;
    }

    /// <summary>The mount holding a node path: the longest mount point that is a prefix of it; the last one mounted wins.</summary>
    public static MountEntry? MountFor(IReadOnlyList<MountEntry> mounts, string nodePath)
    {
        MountEntry? best = null;
        foreach (var mount in mounts)
        {
            var point = mount.MountPoint;
            var holds = point == "/"
                || nodePath == point
                || nodePath.StartsWith(point.EndsWith('/') ? point : point + "/", StringComparison.Ordinal);
            if (holds && (best is null || point.Length >= best.MountPoint.Length))
            {
                best = mount;
            }
        }

        return best;
    }

    /// <summary><c>/etc/os-release</c>: KEY=value lines, values optionally quoted.</summary>
    public static Dictionary<string, string> OsRelease(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.StartsWith('#') || eq <= 0)
            {
                continue;
            }

            var value = line[(eq + 1)..];
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal);
            }

            values[line[..eq]] = value;
        }

        return values;
    }

    /// <summary><c>btime</c> of <c>/proc/stat</c>.</summary>
    public static DateTimeOffset? BootTime(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("btime ", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                return DateTimeOffset.FromUnixTimeSeconds(seconds);
            }
        }

        return null;
    }

    /// <summary>First number of <c>/proc/uptime</c>.</summary>
    public static double? Uptime(string text)
    {
        var first = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    /// <summary>A file holding one integer (a sysctl).</summary>
    public static long? Integer(string? text)
        => long.TryParse(text?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static string Unescape(string value)
    {
        if (!value.Contains('\\', StringComparison.Ordinal))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 3 < value.Length
                && value[(i + 1)..(i + 4)].All(c => c is >= '0' and <= '7'))
            {
                builder.Append((char)Convert.ToInt32(value.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                builder.Append(value[i]);
            }
        }

        return builder.ToString();
    }
}
