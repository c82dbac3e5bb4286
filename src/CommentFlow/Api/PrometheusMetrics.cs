using CommentFlow.OwnModel;
using CommentFlow.Capture;
using CommentFlow.Engines;
using CommentFlow.Engines.Local;
using CommentFlow.Feedback;
using CommentFlow.Jira;
using Prometheus;

namespace CommentFlow.Api;

/// <summary>
/// <c>GET /metrics</c> in the Prometheus text format. The registry is this app's own, not prometheus-net's static default,
/// so several servers in one process (the tests) each count only their own requests. What the services already count
/// is copied at scrape time (counters only ever move up to the service's figure); latencies are observed as they happen.
/// Anonymous like the health checks: counts, no ticket data, and scrapers rarely send keys.
/// </summary>
internal static class PrometheusMetrics
{
    // Suggestion latency spans a cache hit (microseconds) to an LLM generation (tens of seconds).
    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    // Enqueueing costs tens to hundreds of nanoseconds, or up to the full-mode wait: bounds at the targets (1 µs, 5 µs).
    private static readonly double[] EnqueueBuckets = [1e-7, 2.5e-7, 5e-7, 1e-6, 2e-6, 5e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.02, 0.05];

    public static WebApplication UseCommentFlowMetrics(this WebApplication app)
    {
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        // The duration histogram only: its _count is the request count. The count and in-progress middlewares added two
        // series nobody read and ~3 % of a rules request's CPU (bench/README.md, 2026-12-07).
        app.UseHttpMetrics(o =>
        {
            o.SetMetricFactory(factory);
            o.RequestCount.Enabled = false;
            o.InProgress.Enabled = false;
        });

        var services = app.Services;
        var engines = services.GetRequiredService<EngineCounters>();
        var capture = services.GetRequiredService<CaptureQueue>();
        var models = services.GetRequiredService<LocalModelHost>();
        var shadow = services.GetRequiredService<ShadowEvaluator>();
        var feedback = services.GetRequiredService<FeedbackService>();
        var jira = services.GetRequiredService<JiraCounters>();

        var latency = factory.CreateHistogram("commentflow_engine_latency_seconds", "Time the answering engine took, by engine.",
            new HistogramConfiguration { LabelNames = ["engine"], Buckets = LatencyBuckets });
        engines.ObserveLatency((engine, elapsed) => latency.WithLabels(engine).Observe(elapsed.TotalSeconds));
        var enqueue = factory.CreateHistogram("commentflow_capture_enqueue_seconds",
            "Time a request spent handing its sample to the capture queue (drop mode: never waits; wait mode: up to FullWaitMilliseconds).",
            new HistogramConfiguration { Buckets = EnqueueBuckets });
        capture.ObserveEnqueue(elapsed => enqueue.Observe(elapsed.TotalSeconds));

        var suggestions = factory.CreateCounter("commentflow_suggestion_requests_total", "Suggestion requests answered, by engine.", "engine");
        var cacheHits = factory.CreateCounter("commentflow_cache_hits_total", "Suggestion requests answered from the cache.");
        var fallbacks = factory.CreateCounter("commentflow_fallbacks_total", "Engines that could not answer, by engine and reason.", "engine", "reason");
        var captured = factory.CreateCounter("commentflow_capture_samples_total",
            "Samples through capture, by outcome: enqueued, written, duplicate, dropped (queue full), lost (not written at shutdown).", "outcome");
        var failedWrites = factory.CreateCounter("commentflow_capture_failed_writes_total", "Batch writes that failed and were retried.");
        var failing = factory.CreateGauge("commentflow_capture_writer_failing", "1 while the capture writer's latest attempt failed (it retries), else 0.");
        var depth = factory.CreateGauge("commentflow_capture_queue_depth", "Samples waiting in the capture queue.");
        var capacity = factory.CreateGauge("commentflow_capture_queue_capacity", "Capacity of the capture queue.");
        var model = factory.CreateGauge("commentflow_model_active_info", "The own model version being served (value 1).", "version");
        var shadowCompared = factory.CreateCounter("commentflow_shadow_compared_total", "Ollama answers the own model was compared with.");
        var shadowFailed = factory.CreateCounter("commentflow_shadow_failed_total", "Shadow comparisons that failed (logged); the shadow goes on.");
        var shadowAgreement = factory.CreateGauge("commentflow_shadow_type_agreement_ratio", "Share of shadow comparisons where the own model's type matched Ollama's.");
        var feedbackByAction = factory.CreateCounter("commentflow_feedback_total", "Agents' feedback recorded, by action.", "action");
        var jiraEvents = factory.CreateCounter("commentflow_jira_comments_total",
            "Jira comments taken in, by event: deliveries (webhook, signature good), polled (new to the poller), accepted, edited, written, " +
            "ignored (the reporter's), refused_signatures, duplicates.", "event");
        var jiraPollFailures = factory.CreateCounter("commentflow_jira_poll_failures_total", "Poller passes that failed (Jira or the store); the next tick tries again.");

        registry.AddBeforeCollectCallback(() =>
        {
            var e = engines.Snapshot();
            foreach (var (engine, stat) in e.Answers)
            {
                suggestions.WithLabels(engine).IncTo(stat.Requests);
            }
            cacheHits.IncTo(e.CacheHits);
            foreach (var (key, count) in e.Fallbacks)
            {
                var colon = key.IndexOf(':', StringComparison.Ordinal);
                fallbacks.WithLabels(key[..colon], key[(colon + 1)..]).IncTo(count);
            }

            var c = capture.Counters;
            captured.WithLabels("enqueued").IncTo(c.Enqueued);
            captured.WithLabels("written").IncTo(c.Written);
            captured.WithLabels("duplicate").IncTo(c.Duplicates);
            captured.WithLabels("dropped").IncTo(c.Dropped);
            captured.WithLabels("lost").IncTo(c.Lost);
            captured.WithLabels("quarantined").IncTo(c.Quarantined);
            failedWrites.IncTo(c.FailedWrites);
            failing.Set(c.Failure is null ? 0 : 1);
            depth.Set(capture.Depth);
            capacity.Set(capture.Capacity);

            // One series per version ever served since start; the one in service is 1, earlier ones 0.
            var serving = models.Current?.Manifest.Version;
            foreach (var labels in model.GetAllLabelValues())
            {
                model.WithLabels(labels).Set(labels[0] == serving ? 1 : 0);
            }
            if (serving is not null)
            {
                model.WithLabels(serving).Set(1);
            }

            var s = shadow.Stats();
            shadowCompared.IncTo(s.Compared);
            shadowFailed.IncTo(s.Failed);
            if (s.TypeAgreement is { } agreement)
            {
                shadowAgreement.Set(agreement);
            }
            foreach (var (action, count) in feedback.Recorded)
            {
                feedbackByAction.WithLabels(action).IncTo(count);
            }

            jiraEvents.WithLabels("deliveries").IncTo(jira.Deliveries);
            jiraEvents.WithLabels("polled").IncTo(jira.PolledComments);
            foreach (var (outcome, count) in jira.Outcomes)
            {
                jiraEvents.WithLabels(outcome).IncTo(count);
            }
            jiraEvents.WithLabels("refused_signatures").IncTo(jira.RefusedSignatures);
            jiraEvents.WithLabels("duplicates").IncTo(jira.Duplicates);
            jiraPollFailures.IncTo(jira.PollFailures);
        });

        app.MapMetrics("/metrics", registry).AllowAnonymous();
        return app;
    }
}
