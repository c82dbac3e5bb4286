using System.Globalization;
using System.Text;

namespace CommentFlow.Engines;

/// <summary>Lower-case words without accents, so "Sesión", "sesion" and "SESIÓN" match the same keyword.</summary>
internal static class TextNormalizer
{
    // Each BMP character's lower-case canonical decomposition (FormD), filled on first use: the string-wide
    // ToLowerInvariant + Normalize(FormD) this replaces allocated twice and called ICU per text, and the own model types
    // every candidate reply with it (12 % of the server's CPU under own-model load).
    private static readonly string?[] Decompositions = new string?[char.MaxValue + 1];

    /// <summary>
    /// The text lower-cased, decomposed, without non-spacing marks, with every run of other non-letter-or-digit characters
    /// as one space, and a space at both ends: " sesion expirada ".
    /// </summary>
    public static string Normalize(string text)
    {
        if (text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF'))
        {
            return NormalizeWhole(text); // a supplementary character can decompose into BMP ones: the exact way
        }
        var builder = new StringBuilder(text.Length + 2);
        builder.Append(' ');
        var lastWasSpace = true;
        foreach (var raw in text)
        {
            if (raw < 0x80)
            {
                Append(builder, (char)(raw | (char.IsAsciiLetterUpper(raw) ? 0x20 : 0)), ref lastWasSpace);
                continue;
            }
            var decomposed = Decompositions[raw] ??= char.ToLowerInvariant(raw).ToString().Normalize(NormalizationForm.FormD);
            foreach (var c in decomposed)
            {
                Append(builder, c, ref lastWasSpace);
            }
        }
        if (!lastWasSpace)
        {
            builder.Append(' ');
        }
        return builder.ToString();
    }

    private static void Append(StringBuilder builder, char c, ref bool lastWasSpace)
    {
        if (c >= 0x80 && CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark)
        {
            return;
        }
        if (char.IsLetterOrDigit(c))
        {
            builder.Append(c);
            lastWasSpace = false;
        }
        else if (!lastWasSpace)
        {
            builder.Append(' ');
            lastWasSpace = true;
        }
    }

    /// <summary>The definition <see cref="Normalize"/> follows, character by character.</summary>
    internal static string NormalizeWhole(string text)
    {
        var decomposed = text.ToLowerInvariant().Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length + 2);
        builder.Append(' ');
        var lastWasSpace = true;
        foreach (var c in decomposed)
        {
            Append(builder, c, ref lastWasSpace);
        }
        if (!lastWasSpace)
        {
            builder.Append(' ');
        }
        return builder.ToString();
    }

    public static IEnumerable<string> Words(string text) =>
        text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Trim('.', ',', ';', ':', '!', '?', '¿', '¡', '(', ')', '"', '\''));
}
