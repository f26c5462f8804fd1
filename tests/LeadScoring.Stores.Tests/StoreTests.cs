using LeadScoring.PostgreSql;
using LeadScoring.Sqlite;
using LeadScoring.Sqlite.Tests;

namespace LeadScoring.Stores.Tests;

/// <summary>The store contract on SQLite: a new file per test.</summary>
public sealed class SqliteStoreContractTests : LeadStoreContractTests<SqliteLeadStore>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    protected override SqliteLeadStore Create() => new(new SqliteLeadStoreOptions { ConnectionString = "Data Source=" + _folder.File() });

    protected override void SetCommitStepHook(SqliteLeadStore store, Action<string>? hook) => store.CommitStepHook = hook;

    protected override Task ExecuteRawAsync(string sql)
    {
        using var raw = StoreKit.Raw(_folder.File());
        StoreKit.Scalar(raw, sql);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The store contract on SQLite with the score history indexed by lead every 3 rows instead of every 65,536
/// (<c>ScoreHistoryIndex</c>): a lead's rows are then partly in <c>score_history_by_lead</c> and partly in the tail,
/// and renames, cuts and reads cross that line.
/// </summary>
public sealed class SqliteStoreContractTestsWithSmallHistoryMerges : LeadStoreContractTests<SqliteLeadStore>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    protected override SqliteLeadStore Create() => new(new SqliteLeadStoreOptions { ConnectionString = "Data Source=" + _folder.File() }) { HistoryMergeRows = 3 };

    protected override void SetCommitStepHook(SqliteLeadStore store, Action<string>? hook) => store.CommitStepHook = hook;

    protected override Task ExecuteRawAsync(string sql)
    {
        using var raw = StoreKit.Raw(_folder.File());
        StoreKit.Scalar(raw, sql);
        return Task.CompletedTask;
    }
}

/// <summary>The store contract on PostgreSQL: a new database per class, a new schema per test.</summary>
[RequiresPostgreSql]
public sealed class PostgreSqlStoreContractTests(PostgreSqlDatabase database)
    : LeadStoreContractTests<PostgreSqlLeadStore>, IClassFixture<PostgreSqlDatabase>
{
    private string _connectionString = "";

    public override async Task InitializeAsync() => _connectionString = await database.NewSchemaAsync();

    protected override PostgreSqlLeadStore Create() => new(new PostgreSqlLeadStoreOptions { ConnectionString = _connectionString });

    protected override void SetCommitStepHook(PostgreSqlLeadStore store, Action<string>? hook) => store.CommitStepHook = hook;

    protected override Task ExecuteRawAsync(string sql) => PostgreSqlDatabase.ExecuteAsync(_connectionString, sql);
}
