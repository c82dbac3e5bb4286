using System.Text.RegularExpressions;
using CommentFlow.Domain;

namespace CommentFlow.Privacy;

/// <summary>Masks every free-text field of a sample before it is stored. The context hash stays the one of the original text, so duplicates are still recognised.</summary>
internal static class SampleMasking
{
    /// <summary>Counted when an extra pattern ran out of time on a field: the field is replaced whole rather than stored unmasked.</summary>
    public const string Redacted = "redacted";

    public static (TrainingSample Sample, Dictionary<string, int> Counts) Mask(this PersonalDataMasker masker, TrainingSample sample)
    {
        var counts = new Dictionary<string, int>();
        string Field(string text) => masker.MaskInto(text, counts);

        var context = sample.Context with
        {
            Summary = Field(sample.Context.Summary),
            Description = Field(sample.Context.Description),
            Comments = [.. sample.Context.Comments.Select(Field)],
        };
        var suggestions = sample.Suggestions.Select(s => s with { Text = Field(s.Text) }).ToList();
        return (sample with { Context = context, Suggestions = suggestions }, counts);
    }

    /// <summary>Feedback as a store writes it: the agent's own text masked like any ticket text (unchanged without a masker).</summary>
    public static (SuggestionFeedback Feedback, Dictionary<string, int> Counts) Mask(this PersonalDataMasker? masker, SuggestionFeedback feedback)
    {
        if (masker is null || feedback.FinalText is not { } text)
        {
            return (feedback, []);
        }
        var (masked, counts) = masker.MaskField(text);
        return (feedback with { FinalText = masked }, counts);
    }

    /// <summary>One free-text field (an agent's edited comment), masked the same way.</summary>
    public static (string Text, Dictionary<string, int> Counts) MaskField(this PersonalDataMasker masker, string text)
    {
        var counts = new Dictionary<string, int>();
        return (masker.MaskInto(text, counts), counts);
    }

    private static string MaskInto(this PersonalDataMasker masker, string text, Dictionary<string, int> counts)
    {
        MaskResult result;
        try
        {
            result = masker.Mask(text);
        }
        catch (RegexMatchTimeoutException)
        {
            counts[Redacted] = counts.GetValueOrDefault(Redacted) + 1;
            return $"<{Redacted}>";
        }
        foreach (var (kind, n) in result.Counts)
        {
            counts[kind] = counts.GetValueOrDefault(kind) + n;
        }
        return result.Text;
    }
}
