using System.Data.Common;
using Microsoft.AspNetCore.Diagnostics;

namespace CommentFlow.Api;

/// <summary>
/// A store error that reaches an endpoint (the database is down, the disk is full, a lock held too long) is the store's
/// state, not a bug in the request: 503 with Retry-After, as problem details, instead of a bare 500. Suggestions never
/// get here (they do not wait for the store); stats, exports, feedback and erasure do.
/// </summary>
internal sealed partial class StoreUnavailableHandler(IProblemDetailsService problems, ILogger<StoreUnavailableHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not DbException && exception.InnerException is not DbException)
        {
            return false;
        }
        LogStoreUnavailable(logger, exception, context.Request.Method, context.Request.Path);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "5";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The training store is unavailable",
                Detail = "The store could not be read or written just now; suggestions are still answered and captured samples wait in the queue. Retry later; GET /health/ready says when the store is back.",
            },
        });
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Error, Message = "Store unavailable during {Method} {Path}")]
    private static partial void LogStoreUnavailable(ILogger logger, Exception exception, string method, string path);
}
