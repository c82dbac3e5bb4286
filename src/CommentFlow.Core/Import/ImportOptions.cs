using System.ComponentModel.DataAnnotations;

namespace CommentFlow.Import;

/// <summary>How a tickets CSV maps onto a context. Defaults fit <c>../shared/data/*.csv</c>.</summary>
internal sealed class ImportOptions
{
    public const string Section = "CommentFlow:Import";

    [Required]
    public ImportColumns Columns { get; set; } = new();

    /// <summary>Status given to imported contexts when the file has no status column.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DefaultStatus { get; set; } = "Open";

    /// <summary>Samples written per transaction.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 1_000;
}

/// <summary>Column names; an empty name means the file has no such column.</summary>
internal sealed class ImportColumns
{
    public string Summary { get; set; } = "subject";
    public string Description { get; set; } = "body";
    public string Answer { get; set; } = "answer";
    public string IssueType { get; set; } = "type";
    public string Priority { get; set; } = "priority";
    public string Queue { get; set; } = "queue";
    public string Language { get; set; } = "language";
    public string Status { get; set; } = "";
    public string TicketKey { get; set; } = "";
}
