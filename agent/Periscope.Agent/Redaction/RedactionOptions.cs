using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Periscope.Agent.Redaction;

/// <summary>Redaction settings. Bound from <c>Periscope:Redaction</c>.</summary>
public sealed class RedactionOptions
{
    public const string SectionName = "Periscope:Redaction";

    /// <summary>
    /// Markers carry a short HMAC of the secret under a random per-bundle key that is never written anywhere
    /// (<c>***REDACTED:jwt:1a2b3c4d***</c>): equal secrets in one bundle get equal markers.
    /// </summary>
    public bool StableTokens { get; set; }

    /// <summary>Rules added to the defaults: a name and a .NET pattern whose group <c>secret</c> (else the whole match) is replaced.</summary>
    public List<UserRedactionRule> Rules { get; set; } = [];

    /// <summary>Literal values (4 characters or more) replaced wherever they appear, as <c>***REDACTED:literal***</c>.</summary>
    public List<string> Literals { get; set; } = [];
}

/// <summary>A rule given in configuration.</summary>
public sealed class UserRedactionRule
{
    /// <summary>The name in markers and counts: lower-case letters, digits and dashes.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The pattern, compiled with the non-backtracking engine (no look-arounds or back-references).</summary>
    public string Pattern { get; set; } = string.Empty;

    /// <summary>Literals one of which every match contains (case-insensitive); none means every line is tried.</summary>
    public List<string> Triggers { get; set; } = [];
}

/// <summary>Builds the redactor of one bundle from the defaults and the options.</summary>
internal sealed partial class RedactorFactory(IOptions<RedactionOptions> options)
{
    /// <summary>A redactor for one bundle (a fresh HMAC key when stable tokens are on).</summary>
    public Redactor ForBundle()
    {
        var o = options.Value;
        var rules = DefaultRedactionRules.All.Concat(o.Rules.Select(Compile)).ToList();
        return new Redactor(rules, o.StableTokens, o.Literals);
    }

    /// <summary>Compiles a user rule; <see cref="ArgumentException"/> with a clear message when it cannot be.</summary>
    internal static RedactionRule Compile(UserRedactionRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (!RuleName().IsMatch(rule.Name))
        {
            throw new ArgumentException($"Redaction rule name '{rule.Name}' must be lower-case letters, digits and dashes.");
        }

        Regex regex;
        try
        {
            // Non-backtracking: time linear in the input whatever the pattern, so no input can stall a run.
            regex = new Regex(rule.Pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            throw new ArgumentException($"Redaction rule '{rule.Name}': the pattern cannot be used: {ex.Message}", ex);
        }

        // No triggers: the empty literal is in every line, so every line is tried.
        return new RedactionRule(rule.Name, regex, rule.Triggers.Count > 0 ? rule.Triggers : [string.Empty]);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,40}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex RuleName();
}

/// <summary>Refuses, at start, user rules that cannot be compiled and literals too short to be secrets.</summary>
internal sealed class RedactionOptionsValidator : IValidateOptions<RedactionOptions>
{
    public ValidateOptionsResult Validate(string? name, RedactionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var rule in options.Rules)
        {
            try
            {
                _ = RedactorFactory.Compile(rule);
            }
            catch (ArgumentException ex)
            {
                failures.Add(ex.Message);
            }
        }

        failures.AddRange(options.Literals.Where(l => l.Length < 4).Select(l => $"Redaction literal '{l}' is shorter than 4 characters."));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
