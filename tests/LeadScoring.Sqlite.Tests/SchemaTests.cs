using LeadScoring.Hosting;

namespace LeadScoring.Sqlite.Tests;

/// <summary>The schema is created once, versioned, and the database runs in WAL mode.</summary>
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
    public async Task SecondInitialize_IsANoOp_OnTheSameStoreAndOnANewOne()
    {
        string path = _folder.File();
        var batch = new LeadStoreBatch { Checkpoints = new Dictionary<string, string> { ["s"] = "42" }, ModelVersion = "v1" };
        await using (var store = await StoreKit.OpenAsync(path))
        {
            await store.CommitAsync(batch, CancellationToken.None);
            await store.InitializeAsync(CancellationToken.None);
            (await store.GetCheckpointAsync("s", CancellationToken.None)).Should().Be("42");
        }

        await using (var again = await StoreKit.OpenAsync(path))
        {
            await again.InitializeAsync(CancellationToken.None);
            (await again.GetCheckpointAsync("s", CancellationToken.None)).Should().Be("42");
            (await again.GetModelVersionAsync(CancellationToken.None)).Should().Be("v1");
        }

        using var raw = StoreKit.Raw(path);
        StoreKit.Scalar(raw, "SELECT count(*) FROM schema_version;").Should().Be(2L, "each migration is recorded once");
    }

    [Fact]
    public async Task ASchemaFromANewerVersion_IsRefused()
    {
        string path = _folder.File();
        await (await StoreKit.OpenAsync(path)).DisposeAsync();
        using (var raw = StoreKit.Raw(path))
        {
            StoreKit.Scalar(raw, "INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'future', 0);");
        }

        var store = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = "Data Source=" + path });
        await using (store)
        {
            var act = async () => await store.InitializeAsync(CancellationToken.None);
            (await act.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*version 99*newer*");
        }
    }

    [Fact]
    public async Task UsingTheStoreBeforeInitialize_OrAfterDispose_Throws()
    {
        var store = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = "Data Source=" + _folder.File() });
        var before = async () => await store.GetModelVersionAsync(CancellationToken.None);
        await before.Should().ThrowAsync<InvalidOperationException>().WithMessage("*InitializeAsync*");

        await store.InitializeAsync(CancellationToken.None);
        await store.DisposeAsync();
        var after = async () => await store.CommitAsync(new LeadStoreBatch(), CancellationToken.None);
        await after.Should().ThrowAsync<ObjectDisposedException>();
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
