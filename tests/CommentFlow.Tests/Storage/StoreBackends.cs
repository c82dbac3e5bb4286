using System.Globalization;
using CommentFlow.Privacy;
using CommentFlow.Storage;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CommentFlow.Tests.Storage;

/// <summary>A store under test, and raw SQL on its database to check what the store says against the rows.</summary>
internal abstract class StoreUnderTest
{
    public abstract ITrainingStore Store { get; }

    /// <summary>Another store object on the same database, as a second instance (or process) would open it.</summary>
    public abstract ITrainingStore OpenAnother();

    public abstract Task<long> ScalarAsync(string sql);

    public abstract Task ExecuteAsync(string sql);

    /// <summary>Payloads that start with the GZip magic bytes.</summary>
    public abstract Task<long> CountGzipPayloadsAsync();

    /// <summary>The stored bytes of every payload of <paramref name="encoding"/>, in row order.</summary>
    public abstract Task<List<byte[]>> PayloadsAsync(int encoding);

    /// <summary>The names of the indexes on <paramref name="table"/>, sorted.</summary>
    public abstract Task<List<string>> IndexesAsync(string table);
}

internal sealed class SqliteStoreUnderTest(string dataDir, StorageOptions options, PersonalDataMasker? masker) : StoreUnderTest
{
    private readonly SqliteTrainingStore _store = Open(dataDir, options, masker);

    public override ITrainingStore Store => _store;

    public string DatabasePath => Path.Combine(dataDir, "commentflow.db");

    public override ITrainingStore OpenAnother() => Open(dataDir, options, masker);

    private static SqliteTrainingStore Open(string dataDir, StorageOptions options, PersonalDataMasker? masker) =>
        new(SqliteTrainingStore.DefaultConnectionString(dataDir), options, TimeProvider.System, NullLogger<SqliteTrainingStore>.Instance, masker)
        {
            ScrubTimeout = TimeSpan.FromMilliseconds(300),
        };

    public override async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public override async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public override Task<long> CountGzipPayloadsAsync() =>
        ScalarAsync("SELECT COUNT(*) FROM samples WHERE payload_encoding = 1 AND hex(substr(payload, 1, 2)) = '1F8B'");

    public override async Task<List<byte[]>> PayloadsAsync(int encoding)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        return [.. await connection.QueryAsync<byte[]>("SELECT payload FROM samples WHERE payload_encoding = @encoding ORDER BY id", new { encoding })];
    }

    public override async Task<List<string>> IndexesAsync(string table)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        return [.. await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = @table ORDER BY name", new { table })];
    }
}

/// <summary>A store on its own database of the test run's PostgreSQL server; each store object has its own data source, like an instance.</summary>
internal sealed class PostgresStoreUnderTest(string connectionString, StorageOptions options, PersonalDataMasker? masker) : StoreUnderTest
{
    private readonly PostgresTrainingStore _store = Open(connectionString, options, masker);

    public override ITrainingStore Store => _store;

    public string ConnectionString => connectionString;

    public override ITrainingStore OpenAnother() => Open(connectionString, options, masker);

    private static PostgresTrainingStore Open(string connectionString, StorageOptions options, PersonalDataMasker? masker) =>
        new(NpgsqlDataSource.Create(connectionString), options, TimeProvider.System, NullLogger<PostgresTrainingStore>.Instance, masker);

    public override async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public override async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public override Task<long> CountGzipPayloadsAsync() =>
        ScalarAsync("SELECT COUNT(*) FROM samples WHERE payload_encoding = 1 AND substring(payload from 1 for 2) = '\\x1f8b'::bytea");

    public override async Task<List<byte[]>> PayloadsAsync(int encoding)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return [.. await connection.QueryAsync<byte[]>("SELECT payload FROM samples WHERE payload_encoding = @encoding ORDER BY id", new { encoding = (short)encoding })];
    }

    public override async Task<List<string>> IndexesAsync(string table)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return [.. await connection.QueryAsync<string>("SELECT indexname FROM pg_indexes WHERE tablename = @table ORDER BY indexname", new { table })];
    }
}
