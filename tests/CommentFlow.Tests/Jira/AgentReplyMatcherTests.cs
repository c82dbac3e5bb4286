using CommentFlow.Domain;
using CommentFlow.Jira;
using Xunit.Abstractions;

namespace CommentFlow.Tests.Jira;

/// <summary>
/// The threshold between edited and written, measured: replies an agent built from a suggestion, and replies agents wrote
/// on the same tickets without one. The figures printed here are the ones docs/jira.md quotes.
/// </summary>
public sealed class AgentReplyMatcherTests(ITestOutputHelper output)
{
    private static readonly string[] Shown =
    [
        "Could you please send us a screenshot of the error message and tell us which printer model you are using?",
        "I have restarted the print spooler service on your workstation. Please try printing again and let us know if the problem persists.",
        "The VPN certificate on your laptop had expired. I renewed it remotely; please reconnect and confirm that the connection stays up.",
        "¿Podrías indicarnos desde cuándo ocurre el error y si afecta a otros compañeros de tu planta?",
    ];

    /// <summary>A greeting and sign-off added, words changed, a detail added, a sentence cut.</summary>
    public static TheoryData<string> Edits => new()
    {
        "Hi Ana,\n\nCould you please send us a screenshot of the error message and tell us which printer model you are using?\n\nThanks,\nPedro",
        "I have restarted the print spooler service on your PC. Please try printing again and tell us if the problem continues.",
        "The VPN certificate on your laptop had expired. I renewed it remotely and also updated the client to version 5.2; please reconnect and confirm that the connection stays up.",
        "Hola Marta, ¿podrías indicarnos desde cuándo ocurre el error? ¿Afecta también a otros compañeros?",
        "Could you send a screenshot of the error message, please? And which printer model are you using?",
    };

    /// <summary>What agents wrote on the same tickets instead.</summary>
    public static TheoryData<string> Written => new()
    {
        "The printer on floor 3 has been replaced, you can use it again.",
        "We are escalating this to the network team; they will contact you today.",
        "Please restart your laptop while connected to the office network so the new policy is applied.",
        "Hemos reiniciado la impresora y ya funciona correctamente. Cerramos el ticket.",
        "Could you please tell us which error you see when you try to print from the laptop?",
    };

    [Theory]
    [MemberData(nameof(Edits))]
    public void Classify_SuggestionChangedByTheAgent_EditedAboveTheThreshold(string posted)
    {
        var match = AgentReplyMatcher.Classify([posted], Shown);
        output.WriteLine($"edited {match.Similarity:0.00}: {posted}");

        Assert.Equal(AgentReplyOutcomes.Edited, match.Outcome);
        Assert.InRange(match.Similarity, AgentReplyMatcher.EditedThreshold + 0.1, 0.99);
    }

    [Theory]
    [MemberData(nameof(Written))]
    public void Classify_ReplyWrittenWithoutTheSuggestion_WrittenBelowTheThreshold(string posted)
    {
        var match = AgentReplyMatcher.Classify([posted], Shown);
        output.WriteLine($"written {match.Similarity:0.00}: {posted}");

        Assert.Equal(AgentReplyOutcomes.Written, match.Outcome);
        Assert.InRange(match.Similarity, 0, AgentReplyMatcher.EditedThreshold - 0.1);
    }

    [Fact]
    public void Classify_SameTextOtherWhitespace_AcceptedWithItsPosition()
    {
        var match = AgentReplyMatcher.Classify(["  I have restarted the print spooler service\non your workstation.  Please try printing again and let us know if the problem persists.\n"], Shown);

        Assert.Equal((AgentReplyOutcomes.Accepted, 1, 1.0), (match.Outcome, match.Candidate, match.Similarity));
    }

    [Fact]
    public void Classify_MaskedFormMatchesTheStoredMaskedSuggestion_Accepted()
    {
        var match = AgentReplyMatcher.Classify(["Write to ana@example.com", "Write to [EMAIL]"], ["Write to [EMAIL]"]);

        Assert.Equal(AgentReplyOutcomes.Accepted, match.Outcome);
    }

    [Fact]
    public void Classify_NothingShown_WrittenWithoutCandidate()
    {
        var match = AgentReplyMatcher.Classify(["Done."], []);

        Assert.Equal((AgentReplyOutcomes.Written, -1), (match.Outcome, match.Candidate));
    }
}
