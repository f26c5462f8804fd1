using LeadScoring.Hosting;

namespace LeadScoring.Sqlite.Tests;

/// <summary>The schema is created once, versioned, and the database runs in WAL mode (the store contract itself: tests/LeadScoring.Stores.Tests).</summary>
public sealed class SchemaTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Initialize_CreatesEveryTable_AtTheLatestSchemaVersion_InWalMode()
    {
        string path = _folder.File();
        await using (var store = await StoreKit.OpenAsync(path))
        {
            using var raw = StoreKit.Raw(path);
            StoreKit.Scalar(raw, "PRAGMA journal_mode;").Should().Be("wal");
            var tables = new List<string>();
            using (var command = raw.CreateCommand())
            {
                command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name;";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    tables.Add(reader.GetString(0));
                }
            }

            tables.Should().Equal("account_messages", "checkpoints", "dead_letters", "leads", "messages", "meta", "outbox", "schema_version", "score_history");
            StoreKit.Scalar(raw, "SELECT group_concat(version) FROM schema_version;").Should().Be("1,2");
            StoreKit.Scalar(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%';").Should().Be(2L);
        }

        File.Exists(path + "-wal").Should().BeFalse("closing the last connection merges the log into the file");
    }

    [Fact]
    public async Task TheColumns_AreAsDocumented_AndJournalsAreNotRewritten()
    {
        // The rest of what a commit writes and reads back is the store suite's (tests/LeadScoring.Stores.Tests).
        string path = _folder.File();
        var messages = StoreKit.Messages();
        var engine = StoreKit.Engine(messages);
        await using (var store = await StoreKit.OpenAsync(path))
        {
            await store.CommitAsync(new LeadStoreBatch { Leads = [.. engine.ExportLeads()], Messages = messages }, CancellationToken.None);
        }

        using var raw = StoreKit.Raw(path);
        StoreKit.Scalar(raw, "SELECT group_concat(lead_id || ':' || (base_state IS NULL), ',') FROM (SELECT * FROM leads ORDER BY lead_id);").Should().Be("u1:1,u2:0");
        StoreKit.Scalar(raw, "SELECT ids FROM leads WHERE lead_id = 'u1';").Should().Be("[\"anon-1\",\"u1\"]");
        StoreKit.Scalar(raw, "SELECT journal FROM leads WHERE lead_id = 'u1';").Should().Be("", "journals are not rewritten on every commit");
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void AMissingConnectionString_IsRefused(string connectionString)
    {
        var act = () => new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = connectionString });
        act.Should().Throw<ArgumentException>().WithMessage("*ConnectionString*");
    }

    [Fact]
    public async Task APrivateInMemoryDatabase_Works()
    {
        await using var store = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = "Data Source=:memory:" });
        await store.InitializeAsync(CancellationToken.None);
        var messages = StoreKit.Messages();
        var engine = StoreKit.Engine(messages);
        await store.CommitAsync(new LeadStoreBatch { Leads = [.. engine.ExportLeads()], Messages = messages }, CancellationToken.None);

        (await StoreKit.LeadsAsync(store)).Should().Equal(engine.ExportLeads().Select(StoreKit.Describe).Order(StringComparer.Ordinal));
        (await StoreKit.ToListAsync(store.LoadMessagesAsync(CancellationToken.None))).Select(m => m.ToJson())
            .Should().Equal(messages.Select(m => m.ToJson()));
    }
}
