using LeadScoring.Tests.Shared.Hosting;
using LeadScoring.Tests.Shared;
using LeadScoring.Hosting;

namespace LeadScoring.Sqlite.Tests;

/// <summary>The schema is created once, versioned, and the database runs in WAL mode (the store contract itself: tests/LeadScoring.Stores.Tests).</summary>
public sealed class SchemaTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_damaged_log_row_is_an_error_naming_the_row_and_the_message_in_it()
    {
        string path = _folder.File();
        var batch = new LeadScoring.Hosting.LeadStoreBatch { Messages = StoreKit.Messages().Take(3).ToList() };
        await using (var store = await StoreKit.OpenAsync(path))
        {
            await store.CommitAsync(batch, CancellationToken.None);
        }

        using (var raw = StoreKit.Raw(path))
        {
            // The second line is no longer a message.
            StoreKit.Scalar(raw, $"UPDATE message_log SET messages = replace(messages, '\"type\":\"alias\"', '\"type\":5') WHERE seq = {batch.LogPosition};");
        }

        await using var reopened = await StoreKit.OpenAsync(path);
        var read = () => ((LeadScoring.Hosting.IMessageLog)reopened).ReadLogBatch(batch.LogPosition);
        read.Should().Throw<InvalidDataException>().WithMessage($"*message 2 of message_log row {batch.LogPosition}*");
    }

    [Fact]
    public async Task A_new_file_has_16_KiB_pages_and_an_existing_file_keeps_its_own()
    {
        // A new database: 16 KiB pages (a commit writes each changed page to the log as a frame of its own), and the log
        // is checkpointed every 64 MiB of them.
        string fresh = _folder.File("fresh.db");
        var batch = new LeadScoring.Hosting.LeadStoreBatch { Messages = StoreKit.Messages(), History = [StoreKit.History("u1", StoreKit.T0, 1)] };
        await using (var store = await StoreKit.OpenAsync(fresh))
        {
            await store.CommitAsync(batch, CancellationToken.None);
            using var raw = StoreKit.Raw(fresh);
            StoreKit.Scalar(raw, "PRAGMA page_size;").Should().Be((long)SqliteLeadStore.PageSize);
            StoreKit.Scalar(raw, "PRAGMA page_size;").Should().Be(16_384L);
        }

        // A database made before (4 KiB pages, in WAL mode already): opened and written as it is, its pages unchanged.
        string older = _folder.File("older.db");
        using (var raw = StoreKit.Raw(older))
        {
            StoreKit.Scalar(raw, "PRAGMA page_size=4096;");
            StoreKit.Scalar(raw, "PRAGMA journal_mode=WAL;");
            StoreKit.Scalar(raw, "CREATE TABLE before_the_store (x);");
        }

        await using (var store = await StoreKit.OpenAsync(older))
        {
            await store.CommitAsync(batch, CancellationToken.None);
            (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Should().HaveCount(batch.Messages.Count);
            (await store.GetHistoryAsync("u1", CancellationToken.None)).Should().ContainSingle();
            using var raw = StoreKit.Raw(older);
            StoreKit.Scalar(raw, "PRAGMA page_size;").Should().Be(4096L, "SQLite keeps an existing database's page size");
        }
    }

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

            tables.Should().Equal("checkpoints", "dead_letters", "lead_outcome", "lead_outcome_score", "leads", "message_log", "meta", "outbox", "schema_version", "score_history", "score_history_by_lead");
            StoreKit.Scalar(raw, "SELECT group_concat(version) FROM schema_version;").Should().Be("1,2,3,4,5,6");
            StoreKit.Scalar(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%';").Should().Be(2L, "score_history has no index of its own");
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

    [Fact]
    public async Task Migration3_MovesTheMessagesOfAVersion2Database_IntoTheLogInTheirOrder()
    {
        // A database as version 2 left it: the message log one row per message.
        string path = _folder.File();
        var messages = StoreKit.SampleMessages();
        using (var raw = StoreKit.Raw(path))
        {
            using var transaction = OlderDatabase(raw, 2);
            foreach (var m in messages)
            {
                using var insert = raw.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO messages (lead_id, message_id, timestamp, json) VALUES ($l, $m, $t, $j);";
                insert.Parameters.AddWithValue("$l", m.LeadId);
                insert.Parameters.AddWithValue("$m", m.MessageId);
                insert.Parameters.AddWithValue("$t", m.TimestampTicks);
                insert.Parameters.AddWithValue("$j", m.ToJson());
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        await using (var store = await StoreKit.OpenAsync(path))
        {
            (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Select(m => m.ToJson())
                .Should().Equal(messages.Select(m => m.ToJson()));

            // Migration 4: the states of an older database were written with every batch, so they are as of the end of its log.
            var log = await StoreKit.ToListAsync(store.ReadLogAsync(0, CancellationToken.None));
            (await store.GetStatePositionAsync(CancellationToken.None)).Should().Be(log[^1].Position);
        }

        using var after = StoreKit.Raw(path);
        StoreKit.Scalar(after, "SELECT group_concat(version) FROM schema_version;").Should().Be("1,2,3,4,5,6");
        StoreKit.Scalar(after, "SELECT count(*) FROM sqlite_master WHERE name = 'messages';").Should().Be(0L);
    }

    [Fact]
    public async Task Migration5_FillsTheOutcomes_FromEachLeadsLatestHistoryEntry_AndTheQueriesUseTheIndexes()
    {
        // A database as version 4 left it, with score history.
        string path = _folder.File();
        using (var raw = StoreKit.Raw(path))
        {
            using var transaction = OlderDatabase(raw, 4);

            // u1: its latest entry is at hour 3 (written before the older one); u2: two at hour 2, the later row wins; u3: NaN.
            foreach (var (lead, hour, fit, stage) in new[] { ("u1", 3, 30.0, "lead"), ("u1", 1, 10.0, "mql"), ("u2", 2, 20.0, "mql"), ("u2", 2, 25.0, "Mql"), ("u3", 1, double.NaN, "mql") })
            {
                using var insert = raw.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO score_history (lead_id, at, scores, grade, stage, model_version, message_id) VALUES ($l, $t, $s, NULL, $g, 'v1', NULL);";
                insert.Parameters.AddWithValue("$l", lead);
                insert.Parameters.AddWithValue("$t", StoreKit.T0.AddHours(hour).UtcTicks);
                insert.Parameters.AddWithValue("$s", new StoreJson().Scores([new("fit", fit), new("total", -fit)]));
                insert.Parameters.AddWithValue("$g", stage);
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        await using (var store = await StoreKit.OpenAsync(path))
        {
            (await store.TopAsync("fit", 10, CancellationToken.None)).Ids().Should().Equal("u1", "u2", "u3");
            (await store.TopAsync("total", 10, CancellationToken.None)).Ids().Should().Equal("u2", "u1", "u3");  // NaN last
            (await store.InStageAsync("mql", 10, CancellationToken.None)).Ids().Should().Equal("u2", "u3");
            (await store.InStageAsync("LEAD", 10, CancellationToken.None)).Ids().Should().Equal("u1");
        }

        using var after = StoreKit.Raw(path);
        StoreKit.Scalar(after, "SELECT group_concat(version) FROM schema_version;").Should().Be("1,2,3,4,5,6");
        string Plan(string sql) => string.Join(" | ", Rows(after, "EXPLAIN QUERY PLAN " + sql));
        Plan("SELECT lead_id, value FROM lead_outcome_score WHERE score_name = 'fit' ORDER BY value DESC, lead_id LIMIT 50;")
            .Should().Contain("ix_lead_outcome_score").And.NotContain("TEMP B-TREE", "the index gives the order");
        Plan("SELECT lead_id, first_score FROM lead_outcome WHERE stage_key = 'MQL' ORDER BY first_score DESC, lead_id LIMIT 50;")
            .Should().Contain("ix_lead_outcome_stage").And.NotContain("TEMP B-TREE");
    }

    [Fact]
    public async Task Migration6_IndexesAVersion5History_ByLead_AndLaterRowsAreMergedIntoIt()
    {
        // A database as version 5 left it: score history rows, indexed on score_history itself.
        string path = _folder.File();
        using (var raw = StoreKit.Raw(path))
        {
            using var transaction = OlderDatabase(raw, 5);
            foreach (var (lead, hour) in new[] { ("u1", 3), ("u2", 1), ("u1", 1), ("u1", 3) })
            {
                using var insert = raw.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO score_history (lead_id, at, scores, grade, stage, model_version, message_id) VALUES ($l, $t, '{}', NULL, NULL, 'v1', $m);";
                insert.Parameters.AddWithValue("$l", lead);
                insert.Parameters.AddWithValue("$t", StoreKit.T0.AddHours(hour).UtcTicks);
                insert.Parameters.AddWithValue("$m", $"{lead}-{hour}");
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        await using (var store = await StoreKit.OpenAsync(path, historyMergeRows: 2))
        {
            (await store.GetHistoryAsync("u1", default)).Select(h => h.MessageId).Should().Equal("u1-1", "u1-3", "u1-3");
            (await store.GetHistoryAsync("u2", default)).Select(h => h.MessageId).Should().Equal("u2-1");

            // Rows after the migration: the first commit stays in the tail, the second merges both into the index.
            await store.CommitAsync(new LeadStoreBatch { History = [StoreKit.History("u1", StoreKit.T0.AddHours(2), 1, messageId: "a")] }, default);
            using (var raw = StoreKit.Raw(path))
            {
                StoreKit.Scalar(raw, "SELECT count(*) FROM score_history_by_lead;").Should().Be(4L, "one row is in the tail");
            }

            await store.CommitAsync(new LeadStoreBatch { History = [StoreKit.History("u2", StoreKit.T0, 1, messageId: "b")] }, default);
            (await store.GetHistoryAsync("u1", default)).Select(h => h.MessageId).Should().Equal("u1-1", "a", "u1-3", "u1-3");
            (await store.GetHistoryAsync("u2", default)).Select(h => h.MessageId).Should().Equal("b", "u2-1");
        }

        using var after = StoreKit.Raw(path);
        StoreKit.Scalar(after, "SELECT count(*) FROM score_history_by_lead;").Should().Be(6L);
        StoreKit.Scalar(after, "SELECT value FROM meta WHERE key = 'history_indexed';").Should().Be("6");
        StoreKit.Scalar(after, "SELECT count(*) FROM sqlite_master WHERE name = 'ix_score_history_lead_id';").Should().Be(0L);
        string.Join(" | ", Rows(after, "EXPLAIN QUERY PLAN SELECT at, id FROM score_history_by_lead WHERE lead_id = 'u1';"))
            .Should().Contain("PRIMARY KEY").And.NotContain("SCAN");
    }

    [Fact]
    public async Task Two_stores_on_one_file_see_each_others_history_rows_and_never_reuse_an_id()
    {
        // Each store keeps the history rows not yet indexed by lead in memory; a commit by the other connection
        // (PRAGMA data_version) makes it read them again.
        string path = _folder.File();
        await using var first = await StoreKit.OpenAsync(path);
        await using var second = await StoreKit.OpenAsync(path);
        await first.CommitAsync(new LeadStoreBatch { History = [StoreKit.History("u1", StoreKit.T0, 1, messageId: "first-1")] }, default);
        (await second.GetHistoryAsync("u1", default)).Select(h => h.MessageId).Should().Equal("first-1");

        await second.CommitAsync(new LeadStoreBatch { History = [StoreKit.History("u1", StoreKit.T0.AddHours(1), 2, messageId: "second-1")] }, default);
        await first.CommitAsync(new LeadStoreBatch
        {
            HistoryReplacedFrom = new Dictionary<string, DateTimeOffset> { ["u1"] = StoreKit.T0.AddHours(1) },
            History = [StoreKit.History("u1", StoreKit.T0.AddHours(2), 3, messageId: "first-2")],
        }, default);

        (await first.GetHistoryAsync("u1", default)).Select(h => h.MessageId).Should().Equal("first-1", "first-2");
        (await second.GetHistoryAsync("u1", default)).Select(h => h.MessageId).Should().Equal("first-1", "first-2");
        using var raw = StoreKit.Raw(path);
        StoreKit.Scalar(raw, "SELECT count(*) FROM score_history;").Should().Be(2L, "the cut deleted the second store's row");
    }

    /// <summary>Makes the database as schema <paramref name="version"/> left it; the caller fills it and commits the transaction returned.</summary>
    private static Microsoft.Data.Sqlite.SqliteTransaction OlderDatabase(Microsoft.Data.Sqlite.SqliteConnection raw, int version)
    {
        var transaction = raw.BeginTransaction();
        using (var create = raw.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL);";
            create.ExecuteNonQuery();
        }

        foreach (var migration in SqliteSchema.Migrations.Where(m => m.Version <= version))
        {
            migration.Apply(raw, transaction);
            using var record = raw.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = $"INSERT INTO schema_version VALUES ({migration.Version}, 'test', 0);";
            record.ExecuteNonQuery();
        }

        return transaction;
    }

    private static List<string> Rows(Microsoft.Data.Sqlite.SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(reader.FieldCount - 1));
        }

        return rows;
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
        (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Select(m => m.ToJson())
            .Should().Equal(messages.Select(m => m.ToJson()));
    }
}
