using CommentFlow.Domain;

namespace CommentFlow.Api;

/// <summary>The limits of a suggestion request. A request that breaks one gets a 400 naming the field, and nothing is stored.</summary>
internal static class SuggestionValidation
{
    public const int MaxTextLength = 100_000;
    public const int MaxShortFieldLength = 200;
    public const int MaxComments = 500;
    public const int DefaultSuggestions = 5;
    public const int MaxSuggestions = 10;

    public static (ValidSuggestionRequest? Valid, Dictionary<string, string[]>? Errors) Validate(SuggestionRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors[field] = [message];

        if (string.IsNullOrWhiteSpace(request.Summary) && string.IsNullOrWhiteSpace(request.Description))
        {
            Fail("summary", "A summary or a description is required.");
        }
        Long("summary", request.Summary);
        Long("description", request.Description);
        Short("ticket_key", request.TicketKey);
        Short("issue_type", request.IssueType);
        Short("status", request.Status);
        Short("priority", request.Priority);

        var max = request.MaxSuggestions ?? DefaultSuggestions;
        if (max is < 1 or > MaxSuggestions)
        {
            Fail("max_suggestions", $"max_suggestions must be between 1 and {MaxSuggestions}.");
        }

        var field = request.AllComments is not null ? "all_comments" : "recent_comments";
        var comments = request.AllComments ?? request.RecentComments ?? [];
        if (comments.Count > MaxComments)
        {
            Fail(field, $"At most {MaxComments} comments are accepted.");
        }
        else
        {
            for (var i = 0; i < comments.Count; i++)
            {
                if (comments[i] is null)
                {
                    Fail($"{field}[{i}]", "A comment must be a string.");
                }
                else
                {
                    Long($"{field}[{i}]", comments[i]);
                }
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var context = new TicketContext
        {
            TicketKey = string.IsNullOrWhiteSpace(request.TicketKey) ? null : request.TicketKey,
            Summary = request.Summary ?? "",
            Description = request.Description ?? "",
            IssueType = OrDefault(request.IssueType, TicketContext.DefaultIssueType),
            Status = OrDefault(request.Status, TicketContext.DefaultStatus),
            Priority = OrDefault(request.Priority, TicketContext.DefaultPriority),
            Comments = comments.Select(c => c!).ToList(),
        };
        return (new ValidSuggestionRequest(context, max), null);

        void Long(string name, string? value)
        {
            if (value is { Length: > MaxTextLength })
            {
                Fail(name, $"{name} is longer than {MaxTextLength} characters.");
            }
        }

        void Short(string name, string? value)
        {
            if (value is { Length: > MaxShortFieldLength })
            {
                Fail(name, $"{name} is longer than {MaxShortFieldLength} characters.");
            }
        }
    }

    private static string OrDefault(string? value, string fallback) => string.IsNullOrWhiteSpace(value) ? fallback : value;
}

internal sealed record ValidSuggestionRequest(TicketContext Context, int MaxSuggestions);
