using CommentFlow.Domain;
using CommentFlow.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace CommentFlow.Tests;

/// <summary>The real SQLite store of a data folder, as the service would open it.</summary>
internal static class Stores
{
    public static async Task<SqliteTrainingStore> OpenAsync(string dataDir)
    {
        var store = new SqliteTrainingStore(SqliteTrainingStore.DefaultConnectionString(dataDir), new StorageOptions(), TimeProvider.System, NullLogger<SqliteTrainingStore>.Instance);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    public static async Task<List<TrainingSample>> ReadAllAsync(string dataDir)
    {
        var store = await OpenAsync(dataDir);
        var list = new List<TrainingSample>();
        await foreach (var s in store.ReadAllAsync(CancellationToken.None))
        {
            list.Add(s);
        }
        return list;
    }
}
