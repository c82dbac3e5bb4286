using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CommentFlow.Dataset;
using CommentFlow.Domain;
using CommentFlow.OwnModel;
using CommentFlow.Storage;
using CommentFlow.Tests.Api;
using CommentFlow.Tests.Fakes;
using CommentFlow.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Tests.Training;

public sealed class OwnModelTests
{
    private static readonly (string Topic, string En, string Es, string Answer)[] Topics =
    [
        ("printer", "The printer on floor {0} jams and prints blank pages", "La impresora de la planta {0} se atasca", "Cleared the paper tray and restarted the print spooler"),
        ("vpn", "VPN drops every {0} minutes when working from home", "La VPN se desconecta cada {0} minutos", "Updated the VPN client and reset the tunnel profile"),
        ("password", "Password expired, user {0} cannot log in", "Contraseña caducada, el usuario {0} no puede entrar", "Reset the password and asked the user to choose a new one"),
        ("invoice", "Invoice {0} shows the wrong amount", "La factura {0} muestra un importe incorrecto", "Corrected the invoice and sent a credit note"),
    ];

    /// <summary>History samples whose answers carry <paramref name="tag"/>, so a test can tell which model answered.</summary>
    internal static List<TrainingSample> History(string tag, int perTopic = 15)
    {
        var samples = new List<TrainingSample>();
        foreach (var (topic, en, es, answer) in Topics)
        {
            for (var i = 0; i < perTopic; i++)
            {
                var spanish = i % 3 == 0;
                var context = new TicketContext
                {
                    Summary = string.Format(System.Globalization.CultureInfo.InvariantCulture, spanish ? es : en, i + 1),
                    Description = $"{topic} ticket {tag} {i}",
                    Language = spanish ? "es" : "en",
                };
                samples.Add(TrainingSample.From(context, context.Hash(), [new Suggestion($"{answer} ({tag}).", "", 1.0)], "history", "history", 0, DateTimeOffset.UnixEpoch));
            }
        }
        // Tickets whose answers share nothing: here the own model cannot know, and its calibrated confidence must say so.
        var random = new Random(tag[0]); // string hash codes differ per process: keep the data reproducible
        string[] roots = ["amber", "bolt", "cedar", "delta", "ember", "fjord", "glyph", "harbor", "iris", "jolt", "kelp", "lumen", "mosaic", "nectar", "orbit", "prism"];
        // 256 words: from 16, two random answers of 8 words share enough to reach ROUGE-L 0.3 by chance, and a composed
        // reply (which also echoes the ticket's words) would be "right" about tickets nobody can know.
        string[] words = [.. roots.SelectMany(a => roots.Select(b => a + b))];
        string Words(int n) => string.Join(' ', Enumerable.Range(0, n).Select(_ => words[random.Next(words.Length)]));
        for (var i = 0; i < perTopic; i++)
        {
            var context = new TicketContext { Summary = $"Misc issue {Words(3)}", Description = Words(5), Language = "en" };
            samples.Add(TrainingSample.From(context, context.Hash(), [new Suggestion($"{Words(8)} ({tag}).", "", 1.0)], "history", "history", 0, DateTimeOffset.UnixEpoch));
        }
        return samples;
    }

    private static async Task<(SqliteTrainingStore Store, ModelRegistry Registry)> StoreWithAsync(string dataDir, IReadOnlyList<TrainingSample> samples)
    {
        var store = await Stores.OpenAsync(dataDir);
        await store.WriteAsync(samples, null, CancellationToken.None);
        return (store, new ModelRegistry(Path.Combine(dataDir, "ml_models")));
    }

    /// <summary>These tests are about the model, not the data gate: 75 samples are enough for them.</summary>
    internal static readonly TrainingOptions SmallData = new() { MinSamples = 50 };

    internal static async Task<ModelManifest> TrainAsync(ITrainingStore store, ModelRegistry registry, bool promote = false)
    {
        var snapshots = new SnapshotStore(Path.Combine(Path.GetDirectoryName(registry.ModelsDir)!, "snapshots"));
        var result = await ModelTrainer.TrainAsync(store, snapshots, new TrainingRequest(promote), SmallData, new CleaningOptions(), registry, TimeProvider.System, null, CancellationToken.None);
        Assert.False(result.Refused, result.Gate.Message);
        return result.Model!;
    }

    [Fact]
    public void Particulars_AProductATenthOfTheTicketsName_ParticularButNotForAKeyPhrase()
    {
        var words = new WordCounts();
        for (var i = 0; i < 100; i++)
        {
            var router = i % 10 == 0;
            var ticket = words.Ticket(router ? $"router model{i} drops the line" : $"screen stays dark {i}", "en");
            int[] answer = router ? [words.Intern("router"), words.Intern("restarted")] : [words.Intern("restarted")];
            words.Pair(ticket, answer);
        }
        var particulars = words.Particulars();

        // Answers always take "router" from their ticket, and a tenth of the tickets name it: another customer's router.
        Assert.True(particulars.IsParticular(words.Ids["router"]));
        // Too common to make this ticket's key phrase (over 6 % of the tickets).
        Assert.False(particulars.IsRareParticular(words.Ids["router"]));
        // Answers take "restarted" whatever the ticket says; "screen" is in most tickets and never echoed.
        Assert.False(particulars.IsParticular(words.Ids["restarted"]));
        Assert.False(particulars.IsParticular(words.Ids["screen"]));
    }

    [Fact]
    public void Calibrate_ALuckyLowBin_PooledWithTheBinsAboveInsteadOfLiftingThem()
    {
        // Ten bins of ten by score: the lowest all good, the next four none, the top five all good.
        var observations = Enumerable.Range(0, 100)
            .Select(i => (Score: i / 100.0, RougeL: i < 10 || i >= 50 ? 0.9 : 0.1)).ToList();

        var calibration = ModelTrainer.Calibrate(observations);

        // The lowest five bins are one block (10 good of 50); a running maximum made them all 1.
        Assert.Equal([0.2, 0.2, 0.2, 0.2, 0.2, 1, 1, 1, 1, 1], calibration.Values);
        Assert.Equal(0.2, calibration.Confidence(0.35));
        Assert.Equal(1, calibration.Confidence(0.75));
    }

    [Fact]
    public async Task Train_FromHistory_FirstVersionActiveWithManifestAndArtefacts()
    {
        var dataDir = TempDir.Create();
        var (store, registry) = await StoreWithAsync(dataDir, History("A"));
        var manifest = await TrainAsync(store, registry);

        Assert.Equal(manifest.Version, registry.Read().Active);
        Assert.Equal(75, manifest.RetrievalItems);
        Assert.Equal(32, manifest.DataFingerprint.Length);
        Assert.True(File.Exists(Path.Combine(registry.PathOf(manifest.Version), ModelFiles.Manifest)));
        Assert.True(File.Exists(Path.Combine(registry.PathOf(manifest.Version), ModelFiles.Items)));
        Assert.True(manifest.CrossValidatedRougeL > 0.5, $"cv rouge {manifest.CrossValidatedRougeL}"); // each topic has one answer
        for (var i = 1; i < manifest.CalibrationValues.Count; i++)
        {
            Assert.True(manifest.CalibrationValues[i] >= manifest.CalibrationValues[i - 1]);
        }

        // The same data gives the same fingerprint; a second version waits for a promote.
        var second = await TrainAsync(store, registry);
        Assert.Equal(manifest.DataFingerprint, second.DataFingerprint);
        Assert.Equal(manifest.Version, registry.Read().Active);
    }

    [Fact]
    public async Task Registry_PromoteAndRollback_WalkTheActiveVersion()
    {
        var dataDir = TempDir.Create();
        var (store, registry) = await StoreWithAsync(dataDir, History("A"));
        var a = await TrainAsync(store, registry);
        await store.WriteAsync(History("B"), null, CancellationToken.None);
        var b = await TrainAsync(store, registry);

        Assert.Equal(a.Version, registry.Read().Active);
        await registry.PromoteAsync(b.Version);
        Assert.Equal(b.Version, registry.Read().Active);
        await registry.RollbackAsync();
        Assert.Equal(a.Version, registry.Read().Active);
        var nothingBefore = await registry.RollbackAsync();
        Assert.Equal(RegistryOutcome.NothingToRollBack, nothingBefore.Outcome);
        Assert.Equal(a.Version, nothingBefore.State.Active);
        var unknown = await registry.PromoteAsync("no-such-version");
        Assert.Equal(RegistryOutcome.UnknownVersion, unknown.Outcome);
        Assert.Contains("no-such-version", unknown.Refusal, StringComparison.Ordinal);
        Assert.Equal(a.Version, registry.Read().Active);
    }

    [Fact]
    public async Task Server_PromoteThenRollback_ServedWithoutRestart()
    {
        var dataDir = TempDir.Create();
        var (store, registry) = await StoreWithAsync(dataDir, History("A"));
        var a = await TrainAsync(store, registry);
        var (storeB, registryB) = await StoreWithAsync(TempDir.Create(), History("B"));
        // Train B elsewhere and copy it in, as another instance or a CI job would publish it.
        var b = await TrainAsync(storeB, registryB);
        ModelRegistry.CopyDirectory(registryB.PathOf(b.Version), registry.PathOf(b.Version));
        await registry.RegisterAsync(b, activate: false);

        await using var server = await TestServer.StartAsync(dataDir, "Engine=local", "Cache:TtlSeconds=0", "Local:ReloadSeconds=1");
        async Task<string> ModelAsync(int n) => (await server.SuggestAsync(new { summary = $"The printer on floor {n} jams", description = "blank pages" }))["model"]!.GetValue<string>();

        await WaitUntilAsync(async () => await ModelAsync(1) == $"own-{a.Version}");
        var answer = await server.SuggestAsync(new { summary = "The printer on floor 9 jams", description = "blank pages" });
        Assert.Equal("local", answer["engine"]!.GetValue<string>());
        Assert.EndsWith("(A).", answer["suggestions"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);

        await registry.PromoteAsync(b.Version);
        await WaitUntilAsync(async () => await ModelAsync(2) == $"own-{b.Version}");
        var models = await server.GetJsonAsync("/api/ml/comments/models");
        Assert.Equal(b.Version, models["serving"]!.GetValue<string>());

        await registry.RollbackAsync();
        await WaitUntilAsync(async () => await ModelAsync(3) == $"own-{a.Version}");
    }

    [Fact]
    public async Task Hybrid_Threshold_RoutesBetweenOwnModelAndOllama_AndShadowRecordsAgreement()
    {
        var dataDir = TempDir.Create();
        var (store, registry) = await StoreWithAsync(dataDir, History("A"));
        await TrainAsync(store, registry);
        await using var fake = await FakeOllama.StartAsync();

        // A ticket the own model knows is answered by it; one it cannot know goes to Ollama, and the own model shadows it.
        await using (var server = await TestServer.StartAsync(dataDir, "Engine=hybrid", $"Ollama:Url={fake.Url}", "Ollama:WarmUp=false", "Local:Threshold=0.9"))
        {
            await SuggestionApiTests.WaitForOllamaAsync(server, "up");
            await WaitUntilAsync(async () => (await server.GetJsonAsync("/api/ml/comments/models"))["serving"] is not null);
            var known = await server.SuggestAsync(new { summary = "VPN drops every 5 minutes when working from home", description = "vpn ticket" });
            Assert.Equal("local", known["engine"]!.GetValue<string>());
            Assert.True(known["suggestions"]!.AsArray().Max(s => s!["confidence"]!.GetValue<double>()) >= 0.9);

            var answer = await server.SuggestAsync(new { summary = "Misc issue orbit prism", description = "kelp nectar" });
            Assert.Equal("ollama", answer["engine"]!.GetValue<string>());
            await WaitUntilAsync(async () => (await server.GetJsonAsync("/api/ml/comments/models"))["shadow"]!["compared"]!.GetValue<long>() == 1);
            var shadow = (await server.GetJsonAsync("/api/ml/comments/models"))["shadow"]!;
            // The values the comparison should give: the own model's top answer for the same ticket against Ollama's.
            var own = server.Services.GetRequiredService<CommentFlow.Engines.Local.LocalEngine>()
                .Suggest(new TicketContext { Summary = "Misc issue orbit prism", Description = "kelp nectar" }, 1).Suggestions[0];
            var ollamaTop = answer["suggestions"]![0]!;
            Assert.Equal(own.Type == ollamaTop["type"]!.GetValue<string>() ? 1.0 : 0.0, shadow["type_agreement"]!.GetValue<double>());
            Assert.Equal(Math.Round((long)(TextMetrics.RougeL(own.Text, ollamaTop["text"]!.GetValue<string>()) * 1e6) / 1e6, 4),
                shadow["text_rouge_l"]!.GetValue<double>());
            // The dashboard's series over time holds the same comparison, and both answers by engine.
            var minutes = (await server.GetJsonAsync("/api/ml/comments/activity"))["minutes"]!.AsArray();
            var compared = Assert.Single(minutes, m => m!["shadow_compared"]!.GetValue<long>() > 0)!;
            Assert.Equal(1, compared["shadow_compared"]!.GetValue<long>());
            Assert.Equal(shadow["type_agreement"]!.GetValue<double>(), compared["shadow_type_agreement"]!.GetValue<double>());
            Assert.Equal(1, minutes.Sum(m => m!["answers"]!["local"]?.GetValue<long>() ?? 0));
            Assert.Equal(1, minutes.Sum(m => m!["answers"]!["ollama"]?.GetValue<long>() ?? 0));

            // Ollama failing: the own model answers anyway, and says why.
            fake.Fault = OllamaFault.ServerError;
            var fallback = await server.SuggestAsync(new { summary = "Misc issue amber bolt", description = "glyph iris" });
            Assert.Equal("local", fallback["engine"]!.GetValue<string>());
            Assert.Equal("http_error", fallback["fallback"]!["reason"]!.GetValue<string>());
        }

        // Threshold 0: the own model always answers first; Ollama is not asked.
        fake.Fault = OllamaFault.None;
        var before = fake.ChatRequests.Count;
        await using (var server = await TestServer.StartAsync(dataDir, "Engine=hybrid", $"Ollama:Url={fake.Url}", "Ollama:WarmUp=false", "Local:Threshold=0"))
        {
            await WaitUntilAsync(async () => (await server.GetJsonAsync("/api/ml/comments/models"))["serving"] is not null);
            var answer = await server.SuggestAsync(new { summary = "Password expired, user 3 cannot log in", description = "login" });
            Assert.Equal("local", answer["engine"]!.GetValue<string>());
            Assert.StartsWith("Reset the password", answer["suggestions"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Null(answer["fallback"]);
        }
        Assert.Equal(before, fake.ChatRequests.Count);
    }

    [Fact]
    public async Task TrainEndpoint_BackgroundJob_ProducesActiveModelServedByTheServer()
    {
        var dataDir = TempDir.Create();
        await StoreWithAsync(dataDir, History("A"));
        await using var server = await TestServer.StartAsync(dataDir, "Engine=local", "Cache:TtlSeconds=0", "Training:MinSamples=50");

        var response = await server.Client.PostAsync("/api/ml/comments/train", null);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var job = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal($"/api/ml/comments/train/{job["id"]!.GetValue<string>()}", response.Headers.Location!.OriginalString);

        JsonObject state = job;
        await WaitUntilAsync(async () =>
        {
            state = await server.GetJsonAsync(response.Headers.Location!.OriginalString);
            return state["state"]!.GetValue<string>() is "succeeded" or "failed";
        });
        Assert.Equal("succeeded", state["state"]!.GetValue<string>());
        var version = state["version"]!.GetValue<string>();
        Assert.Equal(version, (await server.GetJsonAsync("/api/ml/comments/models"))["active"]!.GetValue<string>());
        var answer = await server.SuggestAsync(new { summary = "Invoice 12 shows the wrong amount", description = "billing" });
        Assert.Equal($"own-{version}", answer["model"]!.GetValue<string>());
        var ready = await server.GetJsonAsync("/health/ready");
        Assert.Equal("healthy", ready["checks"]!["model"]!["status"]!.GetValue<string>());
        Assert.Equal($"own model {version} loaded", ready["checks"]!["model"]!["description"]!.GetValue<string>());

        var unknown = await server.Client.GetAsync("/api/ml/comments/train/nope");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task TrainEndpoint_BelowTheGate_JobRefusedWithTheReason_ForceTrainsAndModelsNameTheSnapshot()
    {
        var dataDir = TempDir.Create();
        await StoreWithAsync(dataDir, History("A")); // 75 samples, default Training:MinSamples 200
        await using var server = await TestServer.StartAsync(dataDir, "Engine=local", "Cache:TtlSeconds=0");

        async Task<JsonObject> TrainAsync(string query)
        {
            var response = await server.Client.PostAsync($"/api/ml/comments/train{query}", null);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
            JsonObject state = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            await WaitUntilAsync(async () =>
            {
                state = await server.GetJsonAsync(response.Headers.Location!.OriginalString);
                return state["state"]!.GetValue<string>() is "succeeded" or "failed";
            });
            return state;
        }

        var refused = await TrainAsync("");
        Assert.Equal("failed", refused["state"]!.GetValue<string>());
        Assert.True(refused["refused"]!.GetValue<bool>());
        Assert.Contains("75 samples, fewer than Training:MinSamples (200)", refused["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("force=true", refused["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var snapshot = refused["snapshot_id"]!.GetValue<string>();
        Assert.Empty((await server.GetJsonAsync("/api/ml/comments/models"))["versions"]!.AsArray());

        var forced = await TrainAsync($"?force=true&snapshot={snapshot}");
        Assert.Equal("succeeded", forced["state"]!.GetValue<string>());
        Assert.False(forced["refused"]!.GetValue<bool>());
        var version = Assert.Single((await server.GetJsonAsync("/api/ml/comments/models"))["versions"]!.AsArray())!;
        Assert.Equal(snapshot, version["snapshot_id"]!.GetValue<string>());
        Assert.True(version["gate_overridden"]!.GetValue<bool>());

        var malformed = await server.Client.PostAsync("/api/ml/comments/train?snapshot=../x", null);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, malformed.StatusCode);
        var unknown = await server.Client.PostAsync("/api/ml/comments/train?snapshot=0123456789abcdef", null);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task TypeClassifier_TrainedOnTypedComments_ServedThreadSafely()
    {
        var samples = Some.TopicSamples();
        var (store, registry) = await StoreWithAsync(TempDir.Create(), samples);
        var manifest = await TrainAsync(store, registry);
        Assert.Equal(["action", "diagnostic", "resolution"], manifest.TypeLabels);
        // Chosen by cross-validation, as `commentflow evaluate` chooses; each topic has its own words, so every fold is
        // right for every candidate, and a tie goes to the first candidate in order: SDCA.
        Assert.Equal(1.0, manifest.TypeMacroF1);
        Assert.Equal(nameof(ClassifierTrainer.SdcaMaximumEntropy), manifest.TypeTrainer);

        var model = LocalModel.Load(registry.PathOf(manifest.Version));
        Assert.NotNull(model.Types);
        Assert.Equal(["action", "diagnostic", "resolution"], model.Types!.Labels);
        var predictions = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() =>
            model.Types.PredictOne(i % 2 == 0 ? "Thanks, the report works again today" : "Server disk full on the database host again"))));
        Assert.All(predictions.Where((_, i) => i % 2 == 0), p => Assert.Equal("resolution", p));
        Assert.All(predictions.Where((_, i) => i % 2 == 1), p => Assert.Equal("action", p));
    }

    [Fact]
    public async Task Train_TypeFollowsStatusOnly_ClassifierReadsTheShortFields()
    {
        // The texts say nothing about the type; the status does: open tickets get a question, resolved ones a closing.
        (string Status, string Type, string Answer)[] byStatus =
        [
            ("Open", "diagnostic", "Which account is it and what message do you see?"),
            ("In Progress", "action", "Freed space on the data volume and rotated the logs."),
            ("Resolved", "resolution", "Glad it works again, closing the ticket."),
        ];
        var samples = Enumerable.Range(0, 90).Select(i =>
        {
            var (status, type, answer) = byStatus[i % 3];
            var context = new TicketContext { Summary = $"Problem with the shared drive #{i}", Description = $"ticket {i / 3}", Status = status, Language = "en" };
            return TrainingSample.From(context, context.Hash(), [new Suggestion(answer, type, 0.9)], "llama3.2", "ollama", 900, DateTimeOffset.UnixEpoch);
        }).ToList();
        var (store, registry) = await StoreWithAsync(TempDir.Create(), samples);
        var manifest = await TrainAsync(store, registry);
        var model = LocalModel.Load(registry.PathOf(manifest.Version));

        foreach (var (status, type, _) in byStatus)
        {
            var ticket = new TicketContext { Summary = "Problem with the shared drive again", Description = "new ticket", Status = status };
            Assert.Equal(type, model.Types!.PredictOne(TicketText.ForClassifier(ticket)));
        }
        Assert.True(manifest.TypeMacroF1 > 0.9, $"cross-validated macro-F1 {manifest.TypeMacroF1}");
    }

    [Fact]
    public async Task LocalMode_NoModel_RulesAnswerAndSaySo()
    {
        await using var server = await TestServer.StartAsync(null, "Engine=local");
        var answer = await server.SuggestAsync(new { summary = "Sistema lento", description = "tarda mucho" });
        Assert.Equal("rules", answer["engine"]!.GetValue<string>());
        Assert.Equal("local", answer["fallback"]!["from"]!.GetValue<string>());
        Assert.Equal("no_model", answer["fallback"]!["reason"]!.GetValue<string>());
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 15 s");
            await Task.Delay(100);
        }
    }

}
