using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace CommentFlow.Privacy;

/// <summary>Personal-data masking applied to text before it is stored.</summary>
internal sealed class MaskingOptions
{
    public const string Section = "CommentFlow:Masking";

    /// <summary>Off returns every text as given; for a deployment whose store may hold personal data.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Site-specific patterns, name → regex, masked as <c>&lt;name&gt;</c> after the built-in kinds.
    /// When the pattern has a group named <c>value</c>, only that group is replaced, so <c>customer:\s*(?&lt;value&gt;\d+)</c> keeps its label.
    /// </summary>
    public Dictionary<string, string> ExtraPatterns { get; set; } = [];

    /// <summary>A user pattern can backtrack without end; past this a masking call throws rather than store unmasked text.</summary>
    public static readonly TimeSpan ExtraPatternTimeout = TimeSpan.FromMilliseconds(250);

    public static Regex CompileExtraPattern(string pattern) =>
        new(pattern, RegexOptions.CultureInvariant, ExtraPatternTimeout);
}

/// <summary>Refuses start-up on an extra pattern that would not compile or would break masking, naming the option.</summary>
internal sealed partial class MaskingOptionsValidator : IValidateOptions<MaskingOptions>
{
    public ValidateOptionsResult Validate(string? name, MaskingOptions options)
    {
        var failures = new List<string>();
        var placeholders = PersonalDataMasker.BuiltInKinds.Concat(options.ExtraPatterns.Keys).Select(PersonalDataMasker.Placeholder).ToList();
        foreach (var (kind, pattern) in options.ExtraPatterns)
        {
            var option = $"{MaskingOptions.Section}:{nameof(MaskingOptions.ExtraPatterns)}:{kind}";
            if (!Identifier().IsMatch(kind))
            {
                failures.Add($"{option}: the name must be a letter followed by up to 31 letters, digits or '_' (it becomes the placeholder <{kind}>).");
                continue;
            }
            if (string.IsNullOrEmpty(pattern))
            {
                failures.Add($"{option}: the pattern is empty.");
                continue;
            }
            Regex regex;
            try
            {
                regex = MaskingOptions.CompileExtraPattern(pattern);
            }
            catch (ArgumentException ex)
            {
                failures.Add($"{option}: the pattern does not compile: {ex.Message}");
                continue;
            }
            // An empty match would insert a placeholder between every character; matching a placeholder would make
            // masking already masked text change it again.
            if (regex.IsMatch(string.Empty))
            {
                failures.Add($"{option}: the pattern matches the empty string.");
            }
            else if (placeholders.FirstOrDefault(regex.IsMatch) is { } placeholder)
            {
                failures.Add($"{option}: the pattern matches the placeholder {placeholder}, so masked text would be masked again.");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,31}$")]
    private static partial Regex Identifier();
}
