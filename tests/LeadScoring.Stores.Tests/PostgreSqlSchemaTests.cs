using LeadScoring.Tests.Shared.Hosting;
using LeadScoring.Hosting;
using LeadScoring.PostgreSql;
using LeadScoring.Sqlite.Tests;
using Npgsql;

namespace LeadScoring.Stores.Tests;

/// <summary>
/// PostgreSQL migrations on a database an older version left: migration 4 fills the current outcomes from the history and
/// the two queries read their indexes; migration 6 moves the message log's rows into one row per batch; migration 7 numbers
/// new history rows above the old ones and reads a lead's history by its hash index.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlSchemaTests(PostgreSqlDatabase database) : IClassFixture<PostgreSqlDatabase>
{
    [StoreFact]
    public async Task Migration4_FillsTheOutcomes_FromEachLeadsLatestHistoryEntry_AndTheQueriesUseTheIndexes()
    {
        string connectionString = await database.NewSchemaAsync();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await MigrateTo(connection, 2);

            // u1: its latest entry is at hour 3 (written before the older one); u2: two at hour 2, the later row wins; u3: NaN; u4: no scores.
            foreach (var (lead, hour, fit, stage) in new[] { ("u1", 3, "30", "lead"), ("u1", 1, "10", "mql"), ("u2", 2, "20", "mql"), ("u2", 2, "25", "Mql"), ("u3", 1, "'NaN'", "mql"), ("u4", 1, "", "mql") })
            {
                string names = fit.Length == 0 ? "ARRAY[]::text[]" : "ARRAY['fit', 'total']";
                string values = fit.Length == 0 ? "ARRAY[]::double precision[]" : $"ARRAY[{fit}::double precision, -({fit}::double precision)]";
                await Run(connection, $"""
                    INSERT INTO score_history (lead_id, at, score_names, score_values, grade, stage, model_version, message_id)
                    VALUES ('{lead}', {StoreKit.T0.AddHours(hour).UtcTicks}, {names}, {values}, NULL, '{stage}', 'v1', NULL);
                    """);
            }
        }

        await using (var store = new PostgreSqlLeadStore(new PostgreSqlLeadStoreOptions { ConnectionString = connectionString }))
        {
            await store.InitializeAsync(CancellationToken.None);
            (await store.TopAsync("fit", 10, CancellationToken.None)).Ids().Should().Equal("u1", "u2", "u3");
            (await store.TopAsync("total", 10, CancellationToken.None)).Ids().Should().Equal("u2", "u1", "u3");  // NaN last
            (await store.InStageAsync("mql", 10, CancellationToken.None)).Ids().Should().Equal("u2", "u4", "u3");  // u4: no score counts as 0
            (await store.InStageAsync("LEAD", 10, CancellationToken.None)).Ids().Should().Equal("u1");
        }

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            // The tables are tiny: with the other plans off, the index is chosen if (and only if) it gives the order.
            await Run(connection, "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off;");
            (await Plan(connection, "SELECT lead_id, value FROM lead_outcome_score WHERE score_name = 'fit' ORDER BY value DESC NULLS LAST, lead_id LIMIT 50"))
                .Should().Contain("ix_lead_outcome_score").And.NotContain("Sort", "the index gives the order");
            (await Plan(connection, "SELECT lead_id, first_score FROM lead_outcome WHERE stage_key = 'MQL' ORDER BY first_score DESC NULLS LAST, lead_id LIMIT 50"))
                .Should().Contain("ix_lead_outcome_stage").And.NotContain("Sort");
        }
    }

    [StoreFact]
    public async Task Migration6_MovesTheLogsRows_IntoOneRowPerBatch_InCommitOrder()
    {
        // A database as version 5 left it: a row per message, numbered by batch (1: from before migration 2).
        var messages = StoreKit.Messages();
        var batches = new[] { (Batch: 1L, From: 0, Count: 2), (Batch: 2L, From: 2, Count: 3), (Batch: 4L, From: 5, Count: messages.Count - 5) };
        string connectionString = await database.NewSchemaAsync();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await MigrateTo(connection, 5);

            // Rows inserted out of their batches' order: the log is in seq order within a batch.
            foreach (var (batch, from, count) in batches.Reverse())
            {
                for (int i = from; i < from + count; i++)
                {
                    await using var insert = new NpgsqlCommand("INSERT INTO messages (batch, lead_id, message_id, timestamp, json) VALUES ($1, $2, $3, $4, $5);", connection);
                    foreach (object value in new object[] { batch, messages[i].LeadId, messages[i].MessageId, messages[i].TimestampTicks, messages[i].ToJson() })
                    {
                        insert.Parameters.Add(new NpgsqlParameter { Value = value });
                    }

                    await insert.ExecuteNonQueryAsync();
                }
            }

            await Run(connection, "SELECT setval('message_batches', 4);");
        }

        await using (var store = new PostgreSqlLeadStore(new PostgreSqlLeadStoreOptions { ConnectionString = connectionString }))
        {
            await store.InitializeAsync(CancellationToken.None);
            var log = await StoreKit.ToListAsync(store.ReadLogAsync(0, CancellationToken.None));
            log.Select(b => b.Position).Should().Equal(1, 2, 4);
            log.Select(b => b.Messages.Select(m => m.ToJson())).Should().BeEquivalentTo(
                batches.Select(b => messages.Skip(b.From).Take(b.Count).Select(m => m.ToJson())), o => o.WithStrictOrdering());
            IMessageLog messageLog = store;
            messageLog.ReadLogBatch(2)!.Select(m => m.ToJson()).Should().Equal(messages.Skip(2).Take(3).Select(m => m.ToJson()));
            messageLog.ReadLogBatch(3).Should().BeNull("no batch 3 was logged");

            // The next commit is logged after them.
            var next = new LeadStoreBatch { Messages = messages.Take(1).ToList(), StateCheckpoint = true };
            await store.CommitAsync(next, CancellationToken.None);
            next.LogPosition.Should().Be(5);
            (await store.GetStatePositionAsync(CancellationToken.None)).Should().Be(5);
        }

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'messages';", connection);
            (await command.ExecuteScalarAsync()).Should().Be(0L, "the per-message table is dropped");
        }
    }

    [StoreFact]
    public async Task Migration7_NumbersNewHistoryRowsAboveTheOldOnes_AndReadsALeadsHistoryByItsHashIndex()
    {
        // A database as version 6 left it: history rows numbered 1, 2, 3 by the identity column, two at the same instant.
        string connectionString = await database.NewSchemaAsync();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await MigrateTo(connection, 6);
            foreach (var (lead, hour, message) in new[] { ("u1", 2, "old1"), ("u1", 2, "old2"), ("u2", 1, "other") })
            {
                await Run(connection, $"""
                    INSERT INTO score_history (lead_id, at, score_names, score_values, grade, stage, model_version, message_id)
                    VALUES ('{lead}', {StoreKit.T0.AddHours(hour).UtcTicks}, ARRAY['fit'], ARRAY[1::double precision], NULL, 'mql', 'v1', '{message}');
                    """);
            }
        }

        await using (var store = new PostgreSqlLeadStore(new PostgreSqlLeadStoreOptions { ConnectionString = connectionString }))
        {
            await store.InitializeAsync(CancellationToken.None);
            // New rows at the instant of the old ones come after them (a lead's rows of one instant, in the order written),
            // and a row of an earlier instant before them; within one commit, in the commit's order.
            await store.CommitAsync(new LeadStoreBatch
            {
                History = [StoreKit.History("u1", StoreKit.T0.AddHours(2), 3, messageId: "new1"), StoreKit.History("u1", StoreKit.T0.AddHours(1), 1, messageId: "early"), StoreKit.History("u1", StoreKit.T0.AddHours(2), 4, messageId: "new2")],
            }, CancellationToken.None);
            await store.CommitAsync(new LeadStoreBatch { History = [StoreKit.History("u1", StoreKit.T0.AddHours(2), 5, messageId: "next")] }, CancellationToken.None);
            (await store.GetHistoryAsync("u1", CancellationToken.None)).Select(h => h.MessageId).Should().Equal("early", "old1", "old2", "new1", "new2", "next");
            (await store.GetHistoryAsync("u2", CancellationToken.None)).Select(h => h.MessageId).Should().Equal("other");

            // A row without scores, grade, stage or message id (empty arrays and NULLs in the binary rows).
            await store.CommitAsync(new LeadStoreBatch { History = [new ScoreHistoryEntry("u3", StoreKit.T0, [], null, null, "v1", null)] }, CancellationToken.None);
            var bare = (await store.GetHistoryAsync("u3", CancellationToken.None)).Should().ContainSingle().Subject;
            bare.Scores.Should().BeEmpty();
            (bare.Grade, bare.Stage, bare.MessageId, bare.ModelVersion).Should().Be(((string?)null, (string?)null, (string?)null, "v1"));
        }

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await Run(connection, "SET enable_seqscan = off;");
            (await Plan(connection, "SELECT at, id FROM score_history WHERE lead_id = 'u1' ORDER BY at, id")).Should().Contain("ix_score_history_lead");
            await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'score_history';", connection);
            (await command.ExecuteScalarAsync()).Should().Be(1L, "the B-tree by lead and instant and the primary key are gone: one index, the hash by lead");
        }
    }

    /// <summary>A schema as an older version of the store left it: the migrations up to <paramref name="version"/>, recorded.</summary>
    private static async Task MigrateTo(NpgsqlConnection connection, int version)
    {
        await Run(connection, "CREATE TABLE schema_version (version integer NOT NULL PRIMARY KEY, description text NOT NULL, applied_at bigint NOT NULL);");
        foreach (var migration in PostgreSqlSchema.Migrations.Where(m => m.Version <= version))
        {
            await Run(connection, migration.Sql);
            await Run(connection, $"INSERT INTO schema_version VALUES ({migration.Version}, 'test', 0);");
        }
    }

    private static async Task Run(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string> Plan(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand("EXPLAIN " + sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join("\n", lines);
    }
}
