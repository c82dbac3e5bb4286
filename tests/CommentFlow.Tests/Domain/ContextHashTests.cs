using CommentFlow.Domain;

namespace CommentFlow.Tests.Domain;

public sealed class ContextHashTests
{
    // Vectors computed with Python's hashlib by the earlier service.
    [Theory]
    [InlineData("Error 404 en página principal", "Los usuarios reportan error 404", new[] { "Iniciando investigación", "Revisar configuración del servidor" }, "33d0f21934ad94f22708f7259eb7a230")]
    [InlineData("Sistema lento", "", new string[0], "07a260e7ca9ee4893c84dabb6b5f8202")]
    [InlineData("Error en login", "Usuarios no pueden acceder", new[] { "Revisando logs" }, "50e02266fd1c3b79fcb987fae3d94add")]
    [InlineData("Ünïcödé 🚀", "línea1\nlínea2", new[] { "a|b", "" }, "405874a80dac722a34ee2f537f44e0ae")]
    public void Compute_PythonVectors_MatchByteForByte(string summary, string description, string[] comments, string expected)
    {
        Assert.Equal(expected, ContextHash.Compute(summary, description, comments));
    }

    // Regression: the buffer was one char short without comments, which only showed when the length hit a pool bucket size.
    [Fact]
    public void Compute_EveryLengthAroundPoolBuckets_MatchesTheNaiveDefinition()
    {
        for (var total = 0; total < 300; total++)
        {
            for (var comments = 0; comments < 3; comments++)
            {
                var summary = new string('s', total / 2);
                var description = new string('d', total - total / 2);
                var list = Enumerable.Range(0, comments).Select(i => new string('c', i)).ToList();
                var naive = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(
                    System.Text.Encoding.UTF8.GetBytes(summary + "|" + description + "|" + string.Join("|", list))));
                Assert.Equal(naive, ContextHash.Compute(summary, description, list));
            }
        }
    }

    [Fact]
    public void Compute_CommentsReordered_Differs()
    {
        Assert.NotEqual(ContextHash.Compute("a", "b", ["x", "y"]), ContextHash.Compute("a", "b", ["y", "x"]));
    }

    [Theory]
    [InlineData("33d0f21934ad94f22708f7259eb7a230", true)]
    [InlineData("33D0F21934AD94F22708F7259EB7A230", false)]
    [InlineData("33d0f219", false)]
    [InlineData(null, false)]
    public void IsValid_Shapes_Recognised(string? hash, bool valid) => Assert.Equal(valid, ContextHash.IsValid(hash));
}
