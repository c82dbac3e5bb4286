using System.Text.Json;
using CommentFlow.Jira;

namespace CommentFlow.Tests.Jira;

public sealed class AdfTests
{
    [Fact]
    public void ToText_EveryNodeKindAnAgentReads_TextAsShownInJira()
    {
        using var doc = JsonDocument.Parse("""
            {"type":"doc","version":1,"content":[
              {"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"Printer offline"}]},
              {"type":"paragraph","content":[{"type":"text","text":"Hello "},{"type":"mention","attrs":{"id":"5b10","text":"@Ana"}},{"type":"text","text":","},
                {"type":"hardBreak"},{"type":"text","text":"see ","marks":[{"type":"strong"}]},{"type":"inlineCard","attrs":{"url":"https://example.atlassian.net/browse/SD-1"}}]},
              {"type":"bulletList","content":[
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"restart it"}]}]},
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"check the cable"}]},
                  {"type":"orderedList","attrs":{"order":3},"content":[
                    {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"USB"}]}]},
                    {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"power"}]}]}]}]}]},
              {"type":"codeBlock","attrs":{"language":"bash"},"content":[{"type":"text","text":"lpstat -p\nlpq"}]},
              {"type":"paragraph","content":[]},
              {"type":"orderedList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"ask "},{"type":"mention","attrs":{"id":"77"}}]}]}]},
              {"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"quoted"},{"type":"emoji","attrs":{"shortName":":smile:","text":"😄"}}]}]}
            ]}
            """);

        Assert.Equal(
            "Printer offline\n\nHello @Ana,\nsee https://example.atlassian.net/browse/SD-1\n\n- restart it\n- check the cable\n  3. USB\n  4. power\n\nlpstat -p\nlpq\n\n1. ask @77\n\nquoted😄",
            Adf.ToText(doc.RootElement));
    }

    [Theory]
    [InlineData("\"plain v2 body\"", "plain v2 body")]
    [InlineData("null", "")]
    [InlineData("{\"type\":\"doc\",\"version\":1,\"content\":[]}", "")]
    public void ToText_StringNullOrEmptyDoc_TextOrEmpty(string json, string expected)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(expected, Adf.ToText(doc.RootElement));
    }

    [Fact]
    public void FromText_BlankLinesAndNewLines_ParagraphsAndHardBreaks()
    {
        var adf = Adf.FromText("Hola Ana,\r\nreinicie la impresora.\n\n \nGracias\n");

        Assert.Equal(
            """{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Hola Ana,"},{"type":"hardBreak"},{"type":"text","text":"reinicie la impresora."}]},{"type":"paragraph","content":[{"type":"text","text":"Gracias"}]}]}""",
            adf.ToJsonString());
    }

    [Theory]
    [InlineData("One line")]
    [InlineData("First paragraph\nwith a break\n\nSecond paragraph")]
    [InlineData("1. step one\n2. step two\n\n¿Funciona ahora? Gracias.")]
    public void FromText_ThenToText_SameText(string text)
    {
        using var doc = JsonDocument.Parse(Adf.FromText(text).ToJsonString());
        Assert.Equal(text, Adf.ToText(doc.RootElement));
    }
}
