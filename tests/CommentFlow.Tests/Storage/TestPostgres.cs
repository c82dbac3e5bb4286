using Npgsql;

namespace CommentFlow.Tests.Storage;

/// <summary>
/// The PostgreSQL server the test run started (scripts/postgres.sh, called by test.sh), and a fresh database on it for
/// each test, so tests stay independent and can run in parallel.
/// </summary>
internal static class TestPostgres
{
    public const string Variable = "COMMENTFLOW_TEST_POSTGRES";

    /// <summary>The server's connection string; a test that needs PostgreSQL fails (never skips) without it.</summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set: this test needs the PostgreSQL server that ./test.sh starts. " +
                $"Run ./test.sh, or scripts/postgres.sh dotnet test ... to run a subset against a throw-away server.");

    /// <summary>Creates an empty database and returns the connection string naming it.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = $"cf_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(ServerConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ConnectionString;
    }
}
