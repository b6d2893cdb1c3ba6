using System.Globalization;
using Periscope.Bundle.Facts;

namespace Periscope.Agent.Collectors.Dns;

/// <summary>
/// resolv.conf as the C library reads it: <c>nameserver</c> lines in order, the last <c>search</c> or <c>domain</c>
/// line wins, <c>options</c> accumulate (<c>ndots:n</c>, <c>timeout:n</c>, <c>attempts:n</c>, ...); <c>#</c> and
/// <c>;</c> start comments; anything else is ignored.
/// </summary>
internal static class ResolvConf
{
    public static ResolvConfFacts Parse(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var nameservers = new List<string>();
        IReadOnlyList<string> search = [];
        var options = new List<string>();
        int ndots = 1, timeout = 5, attempts = 2;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            var words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            switch (words[0])
            {
                case "nameserver" when words.Length > 1:
                    nameservers.Add(words[1]);
                    break;
                case "search":
                    search = words[1..];
                    break;
                case "domain" when words.Length > 1:
                    search = [words[1]];
                    break;
                case "options":
                    foreach (var option in words[1..])
                    {
                        options.Add(option);
                        ndots = Option(option, "ndots:", 15) ?? ndots;
                        timeout = Option(option, "timeout:", 30) ?? timeout;
                        attempts = Option(option, "attempts:", 5) ?? attempts;
                    }

                    break;
            }
        }

        return new ResolvConfFacts
        {
            Path = path,
            Nameservers = nameservers,
            Search = search,
            Ndots = ndots,
            Timeout = timeout,
            Attempts = attempts,
            Options = options,
        };
    }

    /// <summary>The option's value, capped as the C library caps it.</summary>
    private static int? Option(string option, string prefix, int max)
        => option.StartsWith(prefix, StringComparison.Ordinal)
           && int.TryParse(option.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? Math.Min(value, max)
            : null;
}
