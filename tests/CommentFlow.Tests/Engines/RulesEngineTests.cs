using CommentFlow.Domain;
using CommentFlow.Engines;

namespace CommentFlow.Tests.Engines;

public sealed class RulesEngineTests
{
    private static readonly RulesEngine Engine = new(RuleSet.Load(Path.Combine(AppContext.BaseDirectory, "rules.json")));

    [Fact]
    public void Suggest_SpanishError_AnswersInSpanishWithErrorRule()
    {
        var result = Engine.Suggest(Some.Context(summary: "Error 404 en página principal", description: "Los usuarios reportan error 404 al entrar", comments: []), 3);
        Assert.True(result.Succeeded);
        Assert.Equal("rules", result.Engine);
        Assert.Equal("rules-v1", result.Model);
        Assert.Equal(3, result.Suggestions.Count);
        Assert.Contains("mensaje de error", result.Suggestions[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Suggest_EnglishLogin_AsksForTheAccountFirst()
    {
        var result = Engine.Suggest(Some.Context(summary: "Cannot log in", description: "Since this morning the password is rejected for our team", comments: []), 2);
        Assert.Equal(SuggestionTypes.Diagnostic, result.Suggestions[0].Type);
        Assert.Contains("account", result.Suggestions[0].Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Ya funciona, gracias por la ayuda", "Nos alegra")]
    [InlineData("Thanks, it works now after the restart", "Glad to hear")]
    public void Suggest_LatestCommentSaysItWorks_ProposesClosing(string latest, string expectedStart)
    {
        var result = Engine.Suggest(Some.Context(summary: "Sistema lento", description: "La aplicación tarda mucho", comments: ["Revisando servidor", latest]), 5);
        Assert.Equal(SuggestionTypes.Resolution, result.Suggestions[0].Type);
        Assert.StartsWith(expectedStart, result.Suggestions[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Suggest_WaitingForCustomer_CallsTheReporter()
    {
        var result = Engine.Suggest(Some.Context(summary: "VPN no conecta", description: "El usuario no puede conectar a la VPN desde casa", status: "Waiting for Customer",
            comments: ["Enviamos instrucciones", "Sin respuesta del usuario"]), 5);
        Assert.Equal(SuggestionTypes.Action, result.Suggestions[0].Type);
        Assert.Contains("llamarle", result.Suggestions[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Suggest_NothingMatches_StillAnswersFromFallback()
    {
        var result = Engine.Suggest(new TicketContext { Summary = "?", Description = "" }, 10);
        Assert.True(result.Succeeded);
        Assert.All(result.Suggestions, s => Assert.Contains(s.Type, SuggestionTypes.All));
        Assert.Equal(result.Suggestions.Count, result.Suggestions.Select(s => s.Text).Distinct().Count());
    }

    [Fact]
    public void Suggest_AccentsAndCaseDiffer_StillMatchKeywords()
    {
        var result = Engine.Suggest(Some.Context(summary: "CONTRASEÑA BLOQUEADA", description: "no puedo iniciar SESIÓN", comments: []), 1);
        Assert.Contains("iniciar sesión", result.Suggestions[0].Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Los usuarios no pueden acceder a la aplicación desde ayer", "es")]
    [InlineData("The users cannot access the application since yesterday", "en")]
    [InlineData("Die Benutzer können nicht auf die Anwendung zugreifen", "de")]
    [InlineData("12345", "en")]
    public void Detect_Languages_Recognised(string text, string expected) => Assert.Equal(expected, LanguageDetector.Detect(text));
}
