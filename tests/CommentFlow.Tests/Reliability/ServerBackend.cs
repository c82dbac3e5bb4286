using System.Globalization;
using CommentFlow.Tests.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CommentFlow.Tests.Reliability;

/// <summary>
/// Where a server process under test keeps its store (a SQLite file in its data folder, or a fresh database of the test
/// run's PostgreSQL), and raw SQL on it, to check what the server said against the rows.
/// </summary>
internal sealed class ServerBackend
{
    private ServerBackend(string name, string dataDir, string? connectionString) => (Name, DataDir, ConnectionString) = (name, dataDir, connectionString);

    public const string Sqlite = "Sqlite";
    public const string Postgres = "Postgres";

    public string Name { get; }
    public string DataDir { get; }
    public string? ConnectionString { get; }

    public string[] Settings => ConnectionString is null ? [] : ["Storage:Provider=postgres", $"Storage:ConnectionString={ConnectionString}"];

    public static async Task<ServerBackend> CreateAsync(string name) => name switch
    {
        Sqlite => new ServerBackend(name, TempDir.Create(), null),
        Postgres => new ServerBackend(name, TempDir.Create(), await TestPostgres.CreateDatabaseAsync()),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    public static ServerBackend OnSqlite(string dataDir) => new(Sqlite, dataDir, null);

    public static ServerBackend OnPostgres(string connectionString) => new(Postgres, TempDir.Create(), connectionString);

    public async Task<long> ScalarAsync(string sql)
    {
        if (ConnectionString is null)
        {
            await using var sqlite = new SqliteConnection($"Data Source={Path.Combine(DataDir, "commentflow.db")};Pooling=False");
            await sqlite.OpenAsync();
            await using var command = sqlite.CreateCommand();
            command.CommandText = sql;
            return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var pg = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await pg.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Rows, the running total kept in the same transactions, and (SQLite) the file's integrity check.</summary>
    public async Task<(long Samples, long Totals, string Integrity)> InspectAsync()
    {
        var samples = await ScalarAsync("SELECT COUNT(*) FROM samples");
        var totals = await ScalarAsync("SELECT SUM(samples) FROM stats_shards");
        var integrity = "ok";
        if (ConnectionString is null)
        {
            await using var sqlite = new SqliteConnection($"Data Source={Path.Combine(DataDir, "commentflow.db")};Pooling=False");
            await sqlite.OpenAsync();
            await using var command = sqlite.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            integrity = (string)(await command.ExecuteScalarAsync())!;
        }
        return (samples, totals, integrity);
    }

    /// <summary>
    /// Holds the store's write lock until disposed, so the server's capture writer waits (and its queue fills): SQLite's
    /// RESERVED lock (BEGIN IMMEDIATE), or on PostgreSQL the writers' advisory lock, exclusive (every batch takes it shared).
    /// </summary>
    public async Task<IAsyncDisposable> BlockWritersAsync()
    {
        if (ConnectionString is null)
        {
            var sqlite = new SqliteConnection($"Data Source={Path.Combine(DataDir, "commentflow.db")};Pooling=False");
            await sqlite.OpenAsync();
            var transaction = sqlite.BeginTransaction(deferred: false);
            return new Block(async () =>
            {
                await transaction.RollbackAsync();
                await sqlite.DisposeAsync();
            });
        }
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        var pgTransaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({CommentFlow.Storage.PostgresTrainingStore.WritersLockKey})", connection, pgTransaction))
        {
            await command.ExecuteScalarAsync();
        }
        return new Block(async () =>
        {
            await pgTransaction.RollbackAsync();
            await connection.DisposeAsync();
        });
    }

    private sealed class Block(Func<Task> release) : IAsyncDisposable
    {
        private int _released;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                await release();
            }
        }
    }
}
