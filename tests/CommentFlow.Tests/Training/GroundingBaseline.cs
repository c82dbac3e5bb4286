using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CommentFlow.Tests.Training;

/// <summary>The shared <c>grounding_baseline.py</c>, its functions called from Python: the reference the C# measure must equal.</summary>
internal static class GroundingBaseline
{
    /// <summary>
    /// On a CSV and a split file: the counts, the ticket-specific tokens, and <c>Scores.summary()</c> for the real answers
    /// and for each test ticket given the next test ticket's answer (by record index, wrapping round): a copied answer,
    /// deterministic on both sides and needing no scikit-learn.
    /// </summary>
    public static JsonObject Summaries(string csv, string split) => Run($$"""
        import json, grounding_baseline as g
        rows = g.records({{Literal(csv)}})
        split = json.load(open({{Literal(split)}}))
        train = [rows[i] for i in sorted(split["train_indices"]) if i in rows]
        test = [rows[i] for i in sorted(split["test_indices"]) if i in rows]
        specific = g.specific_tokens(train)
        real, other = g.Scores(), g.Scores()
        for k, r in enumerate(test):
            real.add(r["answer"], r, specific, score_rouge=False)
            other.add(test[(k + 1) % len(test)]["answer"], r, specific)
        print(json.dumps({"n_train": len(train), "n_test": len(test), "specific": sorted(specific),
                          "real_answer": real.summary(), "next_answer": other.summary()}))
        """).AsObject();

    /// <summary>
    /// Runs a script with the bench folder on <c>sys.path</c> and parses the one JSON value it prints. Text goes in on
    /// stdin as JSON (<c>json.load(sys.stdin)</c>): a C# literal would escape a character outside the BMP as two surrogates.
    /// </summary>
    public static JsonNode Run(string script, string? stdin = null)
    {
        var start = new ProcessStartInfo("/usr/bin/python3", ["-c", $"import sys; sys.path.insert(0, {Literal(Paths.Bench)})\n{script}"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.Environment["PYTHONIOENCODING"] = "utf-8";
        using var python = Process.Start(start)!;
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = python.StandardError.ReadToEndAsync();
        python.StandardInput.Write(stdin ?? "");
        python.StandardInput.Close();
        Assert.True(python.WaitForExit(120_000), "the Python baseline did not finish within 2 minutes");
        Assert.True(python.ExitCode == 0, stderr.Result);
        return JsonNode.Parse(stdout.Result)!;
    }

    /// <summary>A Python string literal (JSON's escapes are valid Python).</summary>
    public static string Literal(string value) => JsonSerializer.Serialize(value);
}
