using CommentFlow.Privacy;
using CommentFlow.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CommentFlow.Hosting;

/// <summary>
/// Builds stores with the configured storage options, clock and loggers: the configured store (<see cref="ITrainingStore"/>)
/// and the ones <c>migrate</c> opens by the file or connection string it is given.
/// </summary>
internal sealed class TrainingStores(IOptions<StorageOptions> storage, TimeProvider time, ILoggerFactory logs)
{
    public SqliteTrainingStore Sqlite(string connectionString, PersonalDataMasker? masker = null) =>
        new(connectionString, storage.Value, time, logs.CreateLogger<SqliteTrainingStore>(), masker);

    public PostgresTrainingStore Postgres(NpgsqlDataSource dataSource, PersonalDataMasker? masker = null) =>
        new(dataSource, storage.Value, time, logs.CreateLogger<PostgresTrainingStore>(), masker);
}
