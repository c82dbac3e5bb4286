namespace CommentFlow.Training;

/// <summary>A usable CSV ticket for training or evaluation: its text, label, reference answer and language.</summary>
/// <param name="Subject">The start of <paramref name="Text"/> that is the ticket's subject, when known: its key phrase is looked for there first.</param>
internal sealed record LabelledTicket(int Index, string Text, string Label, string Answer, string Language, string Subject = "");

internal static class LabelledTickets
{
    /// <summary>
    /// Reads the tickets of a CSV with a label column. Skipped, as the shared baselines skip them: records whose field
    /// count differs from the header, and records with an empty body or label. Text is <c>subject + " " + body</c>.
    /// </summary>
    public static (List<LabelledTicket> Tickets, int Skipped) Read(string path, string label)
    {
        var (header, records) = TicketCsv.Open(path);
        int Column(string name) => Array.IndexOf(header, name);
        var (subject, body, answer, language, labelColumn) = (Column("subject"), Column("body"), Column("answer"), Column("language"), Column(label));
        if (labelColumn < 0)
        {
            throw new InvalidDataException($"'{path}' has no column '{label}'. Columns: {string.Join(", ", header)}.");
        }
        var tickets = new List<LabelledTicket>();
        var skipped = 0;
        foreach (var r in records)
        {
            if (!r.Complete || string.IsNullOrWhiteSpace(r.Get(body)) || string.IsNullOrWhiteSpace(r.Get(labelColumn)))
            {
                skipped++;
                continue;
            }
            tickets.Add(new LabelledTicket(r.Index, r.Get(subject) + " " + r.Get(body), r.Get(labelColumn), r.Get(answer), r.Get(language), r.Get(subject)));
        }
        return (tickets, skipped);
    }
}
