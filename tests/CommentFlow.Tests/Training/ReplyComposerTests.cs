using CommentFlow.Domain;
using CommentFlow.Engines;
using CommentFlow.OwnModel;
using CommentFlow.Training;

namespace CommentFlow.Tests.Training;

public sealed class ReplyComposerTests
{
    [Fact]
    public void Choose_PicksWhatTryingEverySentenceAtEveryStepPicks()
    {
        // Real tickets, so that pools are long (the composer's bound and its early stop prune most trials there): the
        // greedy choice must be the one that scores every open sentence in full at every step.
        var (tickets, _) = LabelledTickets.Read(Path.Combine(Paths.Shared, "data", "tickets-multilang.csv"), "type");
        var answered = tickets.Where(t => !string.IsNullOrWhiteSpace(t.Answer)).ToList();
        var index = RetrievalIndex.Build(answered.Take(700).Select(Evaluation.Item).ToList());
        var longPools = 0;
        foreach (var ticket in answered.Skip(700).Take(40))
        {
            var neighbours = index.Nearest(ticket.Text, ticket.Language, RetrievalSettings.Default.Neighbours);
            var query = Evaluation.Query(index, ticket);
            var (pool, _, _) = ReplyComposer.Pool(index, neighbours, query);
            var objective = new ReplyComposer.Objective(index, neighbours, query, pool);
            longPools += pool.Count >= 30 ? 1 : 0;

            Assert.Equal(Exhaustive(objective, pool.Count), objective.Choose());
        }
        Assert.True(longPools >= 3, $"{longPools} long pools: the test would not reach the pruning");
    }

    [Fact]
    public void ServedPath_FromTheTicketsText_AnswersAsFromItsSubjectAndBody()
    {
        // The engine hands the composer the ticket's text it already has (TicketText.Of) instead of its subject and body
        // joined again: the suggestions must be the same, for real tickets and for the shapes the join treats apart.
        var (tickets, _) = LabelledTickets.Read(Path.Combine(Paths.Shared, "data", "tickets-multilang.csv"), "type");
        var answered = tickets.Where(t => !string.IsNullOrWhiteSpace(t.Answer) && t.Subject.Length > 0
            && t.Text.StartsWith(t.Subject, StringComparison.Ordinal) && t.Text.Length > t.Subject.Length + 1).ToList();
        var index = RetrievalIndex.Build(answered.Take(700).Select(Evaluation.Item).ToList());
        var contexts = answered.Skip(700).Take(30)
            .Select(t => new TicketContext { Summary = t.Subject, Description = t.Text[(t.Subject.Length + 1)..] })
            .Concat(answered.Skip(730).Take(3).Select(t => new TicketContext { Summary = "", Description = t.Text }))
            .Concat(answered.Skip(733).Take(3).Select(t => new TicketContext { Summary = t.Text, Description = "" }))
            .Concat(answered.Skip(736).Take(3).Select(t => new TicketContext
            {
                Summary = t.Subject,
                Description = "See below.",
                Comments = [t.Text[(t.Subject.Length + 1)..], "Any news?"],
            }))
            .ToList();
        var differentSubjects = 0;
        foreach (var context in contexts)
        {
            var text = TicketText.Of(context);
            var language = LanguageDetector.Detect(text);
            var body = text.Length > context.Summary.Length ? text[(context.Summary.Length + 1)..] : "";
            var joined = OwnSuggestions.For(index, RetrievalSettings.Default, context.Summary, body, language, 5);
            var served = OwnSuggestions.For(index, RetrievalSettings.Default, context, text, language, 5);

            Assert.NotEmpty(served);
            Assert.Equal(joined, served);
            // A subject is a key phrase's bonus: as the body alone the same ticket must be able to answer otherwise.
            var asBody = OwnSuggestions.For(index, RetrievalSettings.Default, "", text, language, 5);
            differentSubjects += asBody.SequenceEqual(served) ? 0 : 1;
        }
        Assert.True(differentSubjects > 0, "no ticket's suggestions depend on its subject: the test could not see a lost one");
    }

    [Fact]
    public void Compose_ListStepsFromTheLetters_NumberedAgainFromOne()
    {
        // Every letter numbers its steps from 3: a reply made of them must read 1., 2., … in its own order.
        var items = Enumerable.Range(0, 6).Select(i => new RetrievalItem(
            $"printer paper jam in tray {i} of the office printer",
            $"Hello,\n3. Open tray {i} of the printer.\n5. Remove the jammed paper.\n7. Close the tray and print a test page.\nRegards",
            "action", "en")).ToList();
        var index = RetrievalIndex.Build(items);
        var neighbours = index.Nearest("printer paper jam in tray 2 of the printer", "en", RetrievalSettings.Default.Neighbours);
        var composed = ReplyComposer.Compose(index, neighbours, new QueryWords(index, "Paper jam", "printer paper jam in tray 2 of the printer"));

        var steps = composed.Text.Split('\n').Where(line => char.IsDigit(line[0])).ToList();
        Assert.True(steps.Count >= 2, composed.Text);
        Assert.Equal(Enumerable.Range(1, steps.Count).Select(n => $"{n}. "), steps.Select(line => line[..3]));
    }

    /// <summary>At each step the open sentence whose insertion scores highest (the first among equals), while it raises the score.</summary>
    private static List<int> Exhaustive(ReplyComposer.Objective objective, int poolSize)
    {
        var chosen = new List<int>();
        var best = 0.0;
        for (var step = 0; step < ReplyComposer.MaxSentences; step++)
        {
            int pick = -1;
            var pickScore = best + 1e-9;
            for (var candidate = 0; candidate < poolSize; candidate++)
            {
                if (!chosen.Contains(candidate) && objective.ScoreWith(chosen, candidate) is var score && score > pickScore)
                {
                    (pick, pickScore) = (candidate, score);
                }
            }
            if (pick < 0 || chosen.Count == ReplyComposer.MaxSentences)
            {
                break;
            }
            objective.Insert(chosen, pick);
            best = pickScore;
        }
        return chosen;
    }
}
