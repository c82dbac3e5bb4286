using System.Text.Json;
using System.Text.Json.Serialization;
using CommentFlow.Domain;

namespace CommentFlow.Engines;

// Optional members have setters: source-generated deserialisation would null out missing init-only members.

/// <summary>The rules data file: keyword rules with suggestions per language, plus a fallback that always answers.</summary>
internal sealed record RuleSet
{
    public required string Version { get; init; }
    public string DefaultLanguage { get; set; } = "en";
    public required IReadOnlyList<Rule> Rules { get; init; }
    public required IReadOnlyDictionary<string, IReadOnlyList<Suggestion>> Fallback { get; init; }

    public static RuleSet Load(string path)
    {
        using var stream = File.OpenRead(path);
        var set = JsonSerializer.Deserialize(stream, RulesJsonContext.Default.RuleSet)
            ?? throw new InvalidDataException($"Rules file '{path}' is empty.");
        set.Validate(path);
        return set;
    }

    private void Validate(string path)
    {
        if (!Fallback.ContainsKey(DefaultLanguage) || Fallback[DefaultLanguage].Count == 0)
        {
            throw new InvalidDataException($"Rules file '{path}': the fallback needs suggestions in the default language '{DefaultLanguage}'.");
        }
        var all = Rules.SelectMany(r => r.Suggestions.Values.SelectMany(s => s).Select(s => (r.Id, s)))
            .Concat(Fallback.Values.SelectMany(s => s).Select(s => ("fallback", s)));
        foreach (var (id, s) in all)
        {
            if (SuggestionTypes.Normalize(s.Type) != s.Type || string.IsNullOrWhiteSpace(s.Text) || s.Confidence is < 0 or > 1)
            {
                throw new InvalidDataException($"Rules file '{path}': rule '{id}' has an invalid suggestion '{s.Text}'.");
            }
        }
    }
}

internal sealed record Rule
{
    public required string Id { get; init; }

    /// <summary><c>all</c> (summary, description, comments), <c>comments</c>, or <c>latest_comment</c>.</summary>
    public string Scope { get; set; } = "all";
    public int Weight { get; set; }
    public IReadOnlyList<string> Keywords { get; set; } = [];

    /// <summary>Statuses that trigger the rule on their own (matched like keywords).</summary>
    public IReadOnlyList<string> Statuses { get; set; } = [];
    public required IReadOnlyDictionary<string, IReadOnlyList<Suggestion>> Suggestions { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(RuleSet))]
internal sealed partial class RulesJsonContext : JsonSerializerContext;
