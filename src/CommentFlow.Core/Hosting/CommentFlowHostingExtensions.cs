using CommentFlow.OwnModel;
using CommentFlow.Caching;
using CommentFlow.Capture;
using CommentFlow.Configuration;
using CommentFlow.Dataset;
using CommentFlow.Engines;
using CommentFlow.Engines.Local;
using CommentFlow.Engines.Ollama;
using CommentFlow.Feedback;
using CommentFlow.Training;
using CommentFlow.Import;
using CommentFlow.Jira;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using OllamaSharp;

namespace CommentFlow.Hosting;

/// <summary>The wiring shared by the server and the command line.</summary>
internal static class CommentFlowHostingExtensions
{
    public const string OllamaHttpClient = "ollama";

    /// <summary>
    /// What the server and every command share, registered once: the store, the model registry, the rules engine, the
    /// dataset snapshots and Jira's client. The server adds capture, the engines and its background jobs on top.
    /// </summary>
    public static IHostApplicationBuilder AddCommentFlowCore(this IHostApplicationBuilder builder)
    {
        builder.AddCommentFlowStorage();
        builder.AddModelRegistry();
        builder.AddRules();
        builder.AddTraining();
        builder.AddJira();
        return builder;
    }

    /// <summary>One registry object per process for the models folder; several processes may still share the folder (its lock file).</summary>
    public static IHostApplicationBuilder AddModelRegistry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => new ModelRegistry(sp.GetRequiredService<IOptions<CommentFlowOptions>>().Value.ResolveModelsDir()));
        return builder;
    }

    public static IHostApplicationBuilder AddRules(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<RulesOptions>(RulesOptions.Section);
        builder.Services.AddSingleton(sp => new RulesEngine(RuleSet.Load(sp.GetRequiredService<IOptions<RulesOptions>>().Value.ResolvePath())));
        return builder;
    }

    public static IHostApplicationBuilder AddCommentFlowStorage(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<CommentFlowOptions>(CommentFlowOptions.Section);
        builder.AddValidatedOptions<StorageOptions>(StorageOptions.Section);
        builder.Services.TryAddSingleton(TimeProvider.System);
        // One data source (one connection pool) per process; it is only built when the provider is postgres.
        builder.Services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString!));
        // Where capture keeps what the store refuses; the CLI lists and replays it.
        builder.Services.AddSingleton<Quarantine>();
        builder.Services.AddSingleton<TrainingStores>();
        builder.Services.AddSingleton<ITrainingStore>(sp =>
        {
            var root = sp.GetRequiredService<IOptions<CommentFlowOptions>>().Value;
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var stores = sp.GetRequiredService<TrainingStores>();
            var masker = sp.GetRequiredService<PersonalDataMasker>();
            if (storage.Provider == StorageProviders.Postgres)
            {
                return stores.Postgres(sp.GetRequiredService<NpgsqlDataSource>(), masker);
            }
            var connectionString = string.IsNullOrWhiteSpace(storage.ConnectionString)
                ? SqliteTrainingStore.DefaultConnectionString(root.ResolveDataDir())
                : storage.ConnectionString;
            return stores.Sqlite(connectionString, masker);
        });
        builder.AddMasking();
        builder.Services.AddHostedService<StoreMigrator>();
        return builder;
    }

    public static IHostApplicationBuilder AddHistoryImport(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<ImportOptions>(ImportOptions.Section);
        return builder;
    }

    public static IHostApplicationBuilder AddTraining(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<TrainingOptions>(TrainingOptions.Section);
        builder.AddValidatedOptions<CleaningOptions>(CleaningOptions.Section);
        builder.Services.AddSingleton(sp => new SnapshotStore(sp.GetRequiredService<IOptions<CommentFlowOptions>>().Value.ResolveSnapshotsDir()));
        return builder;
    }

    /// <summary>
    /// Training started over HTTP (the server's): needs the engines' <see cref="LocalModelHost"/>. Register it last, so
    /// that on stop it is the first to wait for its job, while everything the job uses is still running.
    /// </summary>
    public static IHostApplicationBuilder AddTrainingJobs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TrainingJobs>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TrainingJobs>());
        return builder;
    }

    public static IHostApplicationBuilder AddCapture(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<CaptureOptions>(CaptureOptions.Section);
        builder.Services.AddSingleton<CaptureCounters>();
        builder.Services.AddSingleton<CaptureQueue>();
        builder.Services.AddSingleton<CaptureWriter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CaptureWriter>());
        // The host must wait at least as long as the writer is allowed to drain.
        builder.Services.Configure<HostOptions>(h =>
        {
            var drain = TimeSpan.FromSeconds(builder.Configuration.GetValue(CaptureOptions.Section + ":DrainTimeoutSeconds", 30) + 5);
            if (h.ShutdownTimeout < drain)
            {
                h.ShutdownTimeout = drain;
            }
        });
        return builder;
    }

    public static IHostApplicationBuilder AddEngines(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<OllamaOptions>(OllamaOptions.Section);
        builder.AddValidatedOptions<CacheOptions>(CacheOptions.Section);

        // The engine's own timeout (a linked token) bounds each call; the HttpClient timeout is only a backstop.
        builder.Services.AddHttpClient(OllamaHttpClient, (sp, http) =>
        {
            var ollama = sp.GetRequiredService<IOptions<OllamaOptions>>().Value;
            http.BaseAddress = new Uri(ollama.Url);
            http.Timeout = TimeSpan.FromSeconds(ollama.TimeoutSeconds + 30);
        });
        builder.Services.AddSingleton(sp => new OllamaApiClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(OllamaHttpClient),
            sp.GetRequiredService<IOptions<OllamaOptions>>().Value.Model));
        builder.Services.AddSingleton<IOllamaApiClient>(sp => sp.GetRequiredService<OllamaApiClient>());
        builder.Services.AddSingleton<IChatClient>(sp => sp.GetRequiredService<OllamaApiClient>());

        builder.Services.AddSingleton<OllamaStatus>();
        // The engine reads LocalModelHost for its prompt's examples; the host needs only options, the clock and a logger: no cycle.
        builder.Services.AddSingleton<OllamaEngine>();
        builder.Services.AddSingleton<OllamaMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OllamaMonitor>());
        builder.AddValidatedOptions<LocalOptions>(LocalOptions.Section);
        builder.Services.AddSingleton<LocalModelHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LocalModelHost>());
        builder.Services.AddSingleton<LocalEngine>();
        builder.Services.AddSingleton<ShadowEvaluator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ShadowEvaluator>());
        builder.Services.AddSingleton<SuggestionCache>();
        builder.Services.AddSingleton<EngineCounters>();
        builder.Services.AddSingleton<ActivitySeries>();
        builder.Services.AddSingleton<SuggestionService>();
        builder.Services.AddSingleton<FeedbackService>();
        return builder;
    }

    /// <summary>
    /// Jira's options and client (a typed HttpClient). Registered even when Jira is off, so callers ask
    /// <see cref="JiraClient.IsConfigured"/> rather than whether it exists.
    /// </summary>
    public static IHostApplicationBuilder AddJira(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<JiraOptions>(JiraOptions.Section);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddHttpClient<JiraClient>((sp, http) =>
            {
                var jira = sp.GetRequiredService<IOptions<JiraOptions>>().Value;
                // The client bounds each attempt itself (Jira:TimeoutSeconds), around retries of 429 the HttpClient cannot see.
                http.Timeout = Timeout.InfiniteTimeSpan;
                if (!jira.IsConfigured)
                {
                    return;
                }
                http.BaseAddress = new Uri(jira.BaseUrl.TrimEnd('/') + "/");
                http.DefaultRequestHeaders.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue("application/json"));
                http.DefaultRequestHeaders.Authorization = jira.UsesPersonalAccessToken
                    ? new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", jira.PersonalAccessToken)
                    : new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
                        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{jira.Email}:{jira.ApiToken}")));
            })
            // Its request lines name ticket keys, which CommentFlow never logs.
            .RemoveAllLoggers();
        return builder;
    }

    /// <summary>
    /// What the server adds to <see cref="AddJira"/>: agents' replies taken in from the webhook and the poller (off unless
    /// <c>Jira:PollSeconds</c> is set). Needs the store, the masker and the suggestion cache (<see cref="AddEngines"/>).
    /// </summary>
    public static IHostApplicationBuilder AddJiraReplies(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<JiraCounters>();
        builder.Services.AddSingleton<AgentReplyRecorder>();
        builder.Services.AddSingleton<JiraPoller>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JiraPoller>());
        return builder;
    }

    /// <summary>The retention job (off unless <c>Retention:Days</c> is set); register after the store, whose migration runs first.</summary>
    public static IHostApplicationBuilder AddRetention(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<RetentionOptions>(RetentionOptions.Section);
        builder.Services.AddSingleton<RetentionStatus>();
        builder.Services.AddHostedService<RetentionService>();
        return builder;
    }

    /// <summary>The archiving job of a SQLite store (see <see cref="ArchiveService"/>); register after the store, whose migration runs first.</summary>
    public static IHostApplicationBuilder AddArchiving(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHostedService<ArchiveService>();
        return builder;
    }

    /// <summary>The masker; the store applies it to every sample it writes (<see cref="SampleMasking"/>).</summary>
    public static IHostApplicationBuilder AddMasking(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<MaskingOptions>(MaskingOptions.Section);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MaskingOptions>, MaskingOptionsValidator>());
        builder.Services.AddSingleton<PersonalDataMasker>();
        return builder;
    }

    private static void AddValidatedOptions<T>(this IHostApplicationBuilder builder, string section) where T : class =>
        builder.Services.AddOptions<T>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
}

/// <summary>Creates or migrates the store before anything else runs (hosted services start in registration order).</summary>
internal sealed class StoreMigrator(ITrainingStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
