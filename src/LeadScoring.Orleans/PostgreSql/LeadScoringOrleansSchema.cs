using System.Globalization;
using System.Reflection;
using Npgsql;

namespace LeadScoring.Orleans.PostgreSql;

/// <summary>
/// The PostgreSQL schema behind Orleans' ADO.NET clustering, reminders and grain storage for a LeadScoring cluster:
/// LeadScoring's own tables (<c>orleans_cluster</c>, <c>orleans_silo</c>, <c>orleans_reminder</c>,
/// <c>orleans_grain_state</c>) and the statements the Orleans ADO.NET providers (10.4.2, invariant <c>Npgsql</c>) read
/// from the table <c>OrleansQuery</c>. The Orleans packages ship no SQL; this is not Orleans' own script.
/// </summary>
/// <remarks>
/// The SQL is the embedded file <c>orleans-postgresql.sql</c> (in the repository: <c>src/LeadScoring.Orleans/PostgreSql/</c>):
/// ordered migrations, applied once each and recorded in <c>orleans_schema_version</c>, and one statement per query
/// key. The tables are made in the connection's current schema (the first schema of its search path), beside the
/// lead store's tables if it shares the database (no name is shared).
/// </remarks>
public static class LeadScoringOrleansSchema
{
    private const string ResourceName = "LeadScoring.Orleans.PostgreSql.orleans-postgresql.sql";

    private static readonly Lazy<Script> Parsed = new(() => Script.Parse(ReadResource()));

    /// <summary>The schema version <see cref="EnsureAsync"/> brings a database to (the number of the last migration).</summary>
    public static int LatestVersion => Parsed.Value.Migrations[^1].Version;

    /// <summary>The query keys this schema provides (every key the three Orleans ADO.NET providers require, and <c>DeleteStorageKey</c>).</summary>
    public static IReadOnlyCollection<string> QueryKeys => [.. Parsed.Value.Queries.Keys];

    /// <summary>
    /// Creates the schema, or brings it to <see cref="LatestVersion"/>, and (re)writes the statements of
    /// <c>OrleansQuery</c>; safe to call again and from several silos at once (one transaction, under an advisory lock
    /// per schema). <c>UseLeadScoringPostgreSql</c> calls it when a silo starts.
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string; its user must be allowed to create tables the first time.</param>
    /// <param name="cancellationToken">Cancels the installation (the transaction is rolled back).</param>
    /// <exception cref="InvalidOperationException">The database's schema was written by a newer LeadScoring.Orleans, or the search path names no schema.</exception>
    public static async Task EnsureAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var script = Parsed.Value;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        string schema = await ScalarAsync(connection, "SELECT current_schema();", cancellationToken).ConfigureAwait(false) as string
            ?? throw new InvalidOperationException(
                "LeadScoring.Orleans found no schema to create its Orleans tables in: the connection's search path names no existing schema.");

        // One installer at a time per schema, across processes; released at commit or rollback.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('LeadScoring.Orleans:' || $1));", connection))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = schema });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await ScalarAsync(connection, """
            CREATE TABLE IF NOT EXISTS orleans_schema_version (
                version     integer     NOT NULL PRIMARY KEY,
                description text        NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            );
            """, cancellationToken).ConfigureAwait(false);
        int current = await CurrentVersionAsync(connection, schema, cancellationToken).ConfigureAwait(false);
        foreach (var migration in script.Migrations.Where(m => m.Version > current))
        {
            await ScalarAsync(connection, migration.Sql, cancellationToken).ConfigureAwait(false);
            await using var record = new NpgsqlCommand("INSERT INTO orleans_schema_version (version, description) VALUES ($1, $2);", connection);
            record.Parameters.Add(new NpgsqlParameter { Value = migration.Version });
            record.Parameters.Add(new NpgsqlParameter { Value = migration.Description });
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var (key, text) in script.Queries)
        {
            await using var upsert = new NpgsqlCommand(
                "INSERT INTO orleansquery (querykey, querytext) VALUES ($1, $2) ON CONFLICT (querykey) DO UPDATE SET querytext = EXCLUDED.querytext;",
                connection);
            upsert.Parameters.Add(new NpgsqlParameter { Value = key });
            upsert.Parameters.Add(new NpgsqlParameter { Value = text });
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks, without changing anything, that the database has the schema at <see cref="LatestVersion"/> (what a silo
    /// does at start when it is not to install it).
    /// </summary>
    /// <exception cref="InvalidOperationException">The schema is missing, older (not upgraded) or newer; the message says which and what to do.</exception>
    internal static async Task VerifyAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        string schema = await ScalarAsync(connection, "SELECT current_schema();", cancellationToken).ConfigureAwait(false) as string ?? "(none)";
        bool exists = await ScalarAsync(connection, "SELECT to_regclass('orleans_schema_version') IS NOT NULL;", cancellationToken).ConfigureAwait(false) is true;
        int current = exists ? await CurrentVersionAsync(connection, schema, cancellationToken).ConfigureAwait(false) : 0;
        if (current < LatestVersion)
        {
            throw new InvalidOperationException(
                $"The Orleans tables of LeadScoring in database '{connection.Database}', schema '{schema}', are " +
                (exists ? $"at version {current}, older than this LeadScoring.Orleans needs ({LatestVersion})" : "missing") +
                ": run LeadScoringOrleansSchema.EnsureAsync(connectionString) (e.g. as a deployment step), or let the silo do it (UseLeadScoringPostgreSql with EnsureSchema = true).");
        }
    }

    /// <summary>The version recorded in <c>orleans_schema_version</c> (0: none); refuses a version newer than this package's.</summary>
    private static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        int current = Convert.ToInt32(
            await ScalarAsync(connection, "SELECT COALESCE(MAX(version), 0) FROM orleans_schema_version;", cancellationToken).ConfigureAwait(false),
            CultureInfo.InvariantCulture);
        return current <= LatestVersion ? current : throw new InvalidOperationException(
            $"The Orleans tables of schema '{schema}' are at version {current}, newer than this LeadScoring.Orleans supports ({LatestVersion}); upgrade the package.");
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string ReadResource()
    {
        using var stream = typeof(LeadScoringOrleansSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"LeadScoring.Orleans is built without its resource {ResourceName}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>One schema change of the script: its number, description and SQL.</summary>
    internal sealed record Migration(int Version, string Description, string Sql);

    /// <summary>
    /// The script cut at its markers: <c>--@migration N description</c> starts a migration (its SQL runs as written),
    /// <c>--@query Key</c> a statement for <c>OrleansQuery</c> (its whole-line comments left out).
    /// </summary>
    internal sealed record Script(IReadOnlyList<Migration> Migrations, IReadOnlyDictionary<string, string> Queries)
    {
        private const string MigrationMarker = "--@migration ";
        private const string QueryMarker = "--@query ";

        public static Script Parse(string text)
        {
            var migrations = new List<Migration>();
            var queries = new SortedDictionary<string, string>(StringComparer.Ordinal);
            string? section = null;
            var body = new List<string>();

            void Close()
            {
                if (section is null)
                {
                    return;
                }

                if (section.StartsWith(MigrationMarker, StringComparison.Ordinal))
                {
                    string rest = section[MigrationMarker.Length..];
                    int space = rest.IndexOf(' ', StringComparison.Ordinal);
                    int version = int.Parse(space < 0 ? rest : rest[..space], CultureInfo.InvariantCulture);
                    if (version != migrations.Count + 1)
                    {
                        throw new FormatException($"orleans-postgresql.sql: migration {version} where {migrations.Count + 1} was expected.");
                    }

                    migrations.Add(new Migration(version, space < 0 ? "" : rest[(space + 1)..].Trim(), string.Join('\n', body).Trim()));
                }
                else
                {
                    string key = section[QueryMarker.Length..].Trim();
                    string sql = string.Join('\n', body.Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal))).Trim();
                    if (sql.Length == 0 || !queries.TryAdd(key, sql))
                    {
                        throw new FormatException($"orleans-postgresql.sql: query {key} is empty or given twice.");
                    }
                }
            }

            foreach (var raw in text.Split('\n'))
            {
                string l = raw.TrimEnd('\r');
                if (l.StartsWith(MigrationMarker, StringComparison.Ordinal) || l.StartsWith(QueryMarker, StringComparison.Ordinal))
                {
                    Close();
                    section = l;
                    body.Clear();
                }
                else if (section is not null)
                {
                    body.Add(l);
                }
            }

            Close();
            if (migrations.Count == 0)
            {
                throw new FormatException("orleans-postgresql.sql has no migration.");
            }

            return new Script(migrations, queries);
        }
    }
}
