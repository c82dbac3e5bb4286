using System.Collections.Frozen;

namespace CommentFlow.Engines;

/// <summary>
/// Tells the language of a ticket from its most frequent function words. Crude on purpose: tickets are
/// short and the answer only picks which phrasing to use; English when nothing stands out.
/// </summary>
internal static class LanguageDetector
{
    public const string Fallback = "en";

    private static readonly FrozenDictionary<string, string[]> Markers = new Dictionary<string, string[]>
    {
        ["en"] = ["the", "and", "is", "are", "to", "of", "not", "with", "we", "please", "can", "cannot", "it", "this", "my", "our", "have", "after", "when"],
        ["es"] = ["el", "la", "los", "las", "de", "que", "no", "en", "por", "con", "para", "una", "es", "del", "al", "se", "puede", "pueden", "usuarios", "está"],
        ["de"] = ["der", "die", "das", "und", "ist", "nicht", "mit", "wir", "bitte", "ein", "eine", "ich", "auf", "für", "sich", "können", "kann"],
        ["fr"] = ["le", "la", "les", "et", "est", "pas", "avec", "nous", "une", "des", "pour", "sur", "je", "vous", "dans", "ne"],
        ["pt"] = ["o", "os", "as", "e", "não", "com", "uma", "para", "em", "do", "da", "que", "nós", "está", "nosso", "você"],
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, string[]> ByWord = Markers
        .SelectMany(kv => kv.Value.Select(w => (Word: w, Language: kv.Key)))
        .GroupBy(x => x.Word)
        .ToFrozenDictionary(g => g.Key, g => g.Select(x => x.Language).ToArray());

    public static string Detect(string text)
    {
        var scores = new Dictionary<string, int>();
        foreach (var word in TextNormalizer.Words(text))
        {
            if (ByWord.TryGetValue(word, out var languages))
            {
                foreach (var language in languages)
                {
                    scores[language] = scores.GetValueOrDefault(language) + 1;
                }
            }
        }
        return scores.Count == 0 ? Fallback : scores.MaxBy(kv => kv.Value).Key;
    }
}
