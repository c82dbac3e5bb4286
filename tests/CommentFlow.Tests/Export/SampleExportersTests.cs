using System.Text;
using System.Text.Json.Nodes;
using CommentFlow.Domain;
using CommentFlow.Export;

namespace CommentFlow.Tests.Export;

public sealed class SampleExportersTests
{
    private static async IAsyncEnumerable<TrainingSample> Stream(IEnumerable<TrainingSample> samples)
    {
        foreach (var s in samples)
        {
            await Task.Yield();
            yield return s;
        }
    }

    // Enough text that the output spans several of the writer's 256 KB flushes, with non-ASCII and a newline inside values.
    private static List<TrainingSample> Many(int count) => [.. Enumerable.Range(0, count).Select(i =>
        Some.Sample(Some.Context(description: $"Línea {i}\nñandú 🚀 " + new string('x', 1_500))))];

    [Fact]
    public async Task WriteJsonLinesAsync_OutputLargerThanItsBuffer_EverySampleOneLineInOrder()
    {
        var samples = Many(400);
        using var output = new MemoryStream();

        var (count, rows) = await SampleExporters.WriteJsonLinesAsync(output, Stream(samples), null, CancellationToken.None);

        Assert.Equal((400, 400), (count, rows));
        Assert.True(output.Length > 3 * 256 * 1024, $"{output.Length} bytes");
        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(samples.Select(s => s.ContextHash), lines.Select(l => l["context_hash"]!.GetValue<string>()));
        Assert.Equal(samples.Select(s => s.Context.Description), lines.Select(l => l["input"]!["description"]!.GetValue<string>()));
    }

    [Fact]
    public async Task WriteChatAsync_OutputLargerThanItsBuffer_EverySampleOneLineInOrder()
    {
        var samples = Many(300);
        using var output = new MemoryStream();

        var (count, _) = await SampleExporters.WriteChatAsync(output, Stream(samples), null, CancellationToken.None);

        Assert.Equal(300, count);
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(300, lines.Count);
        Assert.All(lines.Zip(samples), pair =>
            Assert.Contains(pair.Second.Context.Summary, pair.First["messages"]![1]!["content"]!.GetValue<string>(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriteJsonLinesAsync_NoSamples_WritesNothing()
    {
        using var output = new MemoryStream();

        var result = await SampleExporters.WriteJsonLinesAsync(output, Stream([]), null, CancellationToken.None);

        Assert.Equal((0, 0), result);
        Assert.Equal(0, output.Length);
    }
}
