using System.Globalization;
using System.Text.Json;
using ScottPlot;
using Spectre.Console;

namespace CommentFlow.Bench;

/// <summary>
/// One measured figure of CommentFlow beside its reference from the same run. <see cref="Met"/> is null where the
/// target is a report, not a threshold; <see cref="HigherIsBetter"/> says which way the ratio reads.
/// </summary>
internal sealed record ResultRow(string Scenario, string Case, string Unit, double CommentFlow, string Reference, double? ReferenceValue,
    string Target, bool? Met, bool HigherIsBetter = true)
{
    public double? Ratio => ReferenceValue is > 0 and var r ? CommentFlow / r : null;
}

internal static class BenchReport
{
    /// <summary>A table on a terminal; plain aligned columns when the output goes to a file or a pipe (a table's cells wrap there).</summary>
    public static void PrintTable(IReadOnlyList<ResultRow> rows)
    {
        string[] header = ["Scenario", "Case", "CommentFlow", "Reference", "Reference value", "Ratio", "Target", "Met"];
        var cells = rows.Select(r => new[]
        {
            r.Scenario, r.Case, $"{Format(r.CommentFlow)} {r.Unit}", r.Reference, r.ReferenceValue is { } v ? $"{Format(v)} {r.Unit}" : "–",
            r.Ratio is { } ratio ? $"{ratio:0.00}×" : "–", r.Target, r.Met switch { true => "yes", false => "no", null => "–" },
        }).ToList();
        var title = $"CommentFlow bench, {Environment.ProcessorCount} cores";
        if (Console.IsOutputRedirected)
        {
            Console.WriteLine(Plain(title, header, cells));
            return;
        }
        var table = new Table().Title(title);
        foreach (var (name, i) in header.Select((h, i) => (h, i)))
        {
            table.AddColumn(i is 2 or 4 or 5 ? new TableColumn(name).RightAligned() : new TableColumn(name));
        }
        foreach (var row in cells)
        {
            var met = row[^1] switch { "yes" => "[green]yes[/]", "no" => "[red]no[/]", _ => "–" };
            table.AddRow([.. row[..^1].Select(Markup.Escape), met]);
        }
        AnsiConsole.Write(table);
    }

    /// <summary>Columns padded to their widest cell, numbers right-aligned, one row a line.</summary>
    internal static string Plain(string title, string[] header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => i is 2 or 4 or 5 ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
        var text = new System.Text.StringBuilder().AppendLine(title).AppendLine(Line(header)).AppendLine(Line([.. widths.Select(w => new string('-', w))]));
        foreach (var row in rows)
        {
            text.AppendLine(Line(row));
        }
        return text.ToString().TrimEnd();
    }

    public static async Task<string> WriteJsonAsync(string outDir, string name, bool quick, IReadOnlyList<ResultRow> rows, IReadOnlyDictionary<string, object> details)
    {
        var file = Path.Combine(outDir, $"{name}{(quick ? "-quick" : "")}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            machine = $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB",
            date = DateTimeOffset.UtcNow,
            quick,
            rows = rows.Select(r => new { r.Scenario, r.Case, r.Unit, commentflow = r.CommentFlow, r.Reference, reference_value = r.ReferenceValue, r.Ratio, r.Target, r.Met }),
            details,
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
        return file;
    }

    /// <summary>One PNG per scenario: CommentFlow and its reference side by side for each case.</summary>
    public static IReadOnlyList<string> WriteCharts(string outDir, bool quick, IReadOnlyList<ResultRow> rows)
    {
        var files = new List<string>();
        foreach (var group in rows.GroupBy(r => (r.Scenario, r.Unit)))
        {
            var plot = new Plot();
            var cases = group.ToList();
            var bars = new List<Bar>();
            for (var i = 0; i < cases.Count; i++)
            {
                bars.Add(new Bar { Position = i * 3, Value = cases[i].CommentFlow, FillColor = Colors.SteelBlue, Label = Format(cases[i].CommentFlow) });
                if (cases[i].ReferenceValue is { } reference)
                {
                    bars.Add(new Bar { Position = i * 3 + 1, Value = reference, FillColor = Colors.Gray, Label = Format(reference) });
                }
            }
            var series = plot.Add.Bars(bars);
            series.ValueLabelStyle.FontSize = 12;
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                cases.Select((c, i) => new Tick(i * 3 + 0.5, $"{c.Case}\nvs {c.Reference}")).ToArray());
            plot.Axes.Margins(bottom: 0);
            plot.Title($"{group.Key.Scenario}: CommentFlow (blue) vs reference (grey), {Environment.ProcessorCount} cores");
            plot.YLabel(group.Key.Unit);
            var name = $"{group.Key.Scenario}-{Slug(group.Key.Unit)}{(quick ? "-quick" : "")}.png";
            var file = Path.Combine(outDir, name);
            // Each case's label has two lines ("case" and "vs reference"): room for ~40 characters a case.
            plot.SavePng(file, Math.Max(640, cases.Count * 320), 420);
            files.Add(file);
        }
        return files;
    }

    private static string Slug(string unit) => new(unit.Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray());

    public static string Format(double value) => value switch
    {
        >= 100 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("N1", CultureInfo.InvariantCulture),
        _ => value.ToString("0.###", CultureInfo.InvariantCulture),
    };
}
