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
