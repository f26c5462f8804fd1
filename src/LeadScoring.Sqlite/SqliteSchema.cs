using Microsoft.Data.Sqlite;

namespace LeadScoring.Sqlite;

/// <summary>
/// The store's schema as an ordered list of migrations. <c>schema_version</c> holds one row per applied migration;
/// <see cref="Migrate"/> applies the missing ones in one transaction. To change the schema, append a migration with
/// the next version number; never edit one that has shipped.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>One schema change: its version (1, 2, ...), a description, and what it does inside the migration transaction.</summary>
    internal sealed record Migration(int Version, string Description, Action<SqliteConnection, SqliteTransaction> Apply);

    internal static readonly IReadOnlyList<Migration> Migrations =
    [
        new(1, "leads, message log, account messages, score history, dead letters, checkpoints, meta", Sql("""
            CREATE TABLE leads (
                lead_id    TEXT    NOT NULL PRIMARY KEY,
                ids        TEXT    NOT NULL,  -- JSON array of every id linked to the lead
                state      BLOB    NOT NULL,  -- LeadSnapshot.State (binary state format)
                base_state BLOB    NULL,      -- LeadSnapshot.BaseState; NULL: the journal starts from an empty lead
                journal    TEXT    NOT NULL,  -- JSON Lines: one Segment message per line, in journal order
                updated_at INTEGER NOT NULL   -- UTC ticks of the commit that wrote the row
            );

            CREATE TABLE messages (
                seq        INTEGER PRIMARY KEY AUTOINCREMENT,  -- commit order; never reused
                lead_id    TEXT    NOT NULL,
                message_id TEXT    NOT NULL,
                timestamp  INTEGER NOT NULL,  -- UTC ticks
                json       TEXT    NOT NULL
            );
            CREATE INDEX ix_messages_lead_id ON messages (lead_id);

            CREATE TABLE account_messages (
                id         INTEGER PRIMARY KEY,
                group_id   TEXT    NOT NULL,
                message_id TEXT    NOT NULL,
                timestamp  INTEGER NOT NULL,  -- UTC ticks
                json       TEXT    NOT NULL,
                UNIQUE (group_id, message_id, timestamp, json)  -- adding a message again is a no-op
            );

            CREATE TABLE score_history (
                id            INTEGER PRIMARY KEY,
                lead_id       TEXT    NOT NULL,
                at            INTEGER NOT NULL,  -- UTC ticks
                scores        TEXT    NOT NULL,  -- JSON object, scores in model order
                grade         TEXT    NULL,
                stage         TEXT    NULL,
                model_version TEXT    NOT NULL,
                message_id    TEXT    NULL
            );
            CREATE INDEX ix_score_history_lead_id ON score_history (lead_id, at);  -- then rowid (id)

            CREATE TABLE dead_letters (
                id       INTEGER PRIMARY KEY,
                source   TEXT    NOT NULL,
                location TEXT    NOT NULL,
                reason   TEXT    NOT NULL,
                raw      TEXT    NULL,
                at       INTEGER NOT NULL  -- UTC ticks
            );

            CREATE TABLE checkpoints (
                source     TEXT NOT NULL PRIMARY KEY,
                checkpoint TEXT NOT NULL
            );

            CREATE TABLE meta (
                key   TEXT NOT NULL PRIMARY KEY,
                value TEXT NOT NULL
            );
            """)),
        new(2, "outbox of handler notifications (committed with their batch, deleted once delivered)", Sql("""
            CREATE TABLE outbox (
                seq     INTEGER PRIMARY KEY AUTOINCREMENT,
                key     TEXT    NOT NULL UNIQUE,  -- the notification's idempotency key
                kind    INTEGER NOT NULL,         -- LeadNotificationKind
                lead_id TEXT    NOT NULL,
                payload TEXT    NOT NULL          -- the handler arguments as JSON
            );
            """)),
        new(3, "the message log as one row per committed batch (JSON Lines) instead of one row per message", MessageLogByBatch),
        new(4, "lead-state checkpoints: the log position the states are as of (meta state_position); no account log (group messages are read from the message log)", Sql("""
            INSERT OR IGNORE INTO meta (key, value) SELECT 'state_position', CAST(COALESCE(MAX(seq), 0) AS TEXT) FROM message_log;
            DROP TABLE account_messages;
            """)),
        new(5, "current outcomes (each lead's latest score history entry), indexed by stage and by each score, filled from the history", LeadOutcomeTables),
        new(6, "score history found by lead through score_history_by_lead, written in bulk (ScoreHistoryIndex), instead of an index on score_history", Sql($"""
            CREATE TABLE score_history_by_lead (
                lead_id TEXT    NOT NULL,
                at      INTEGER NOT NULL,  -- UTC ticks
                id      INTEGER NOT NULL,  -- score_history.id
                PRIMARY KEY (lead_id, at, id)
            ) WITHOUT ROWID;
            INSERT INTO score_history_by_lead (lead_id, at, id) SELECT lead_id, at, id FROM score_history ORDER BY lead_id, at, id;
            DROP INDEX ix_score_history_lead_id;
            INSERT OR REPLACE INTO meta (key, value) SELECT '{ScoreHistoryIndex.IndexedKey}', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM score_history;
            """)),
    ];

    /// <summary>The tables of migration 5 (issue 13): <c>GET /leads?stage=mql&amp;top=50</c> reads them instead of evaluating every lead.</summary>
    internal const string LeadOutcomeSql = """
        CREATE TABLE lead_outcome (
            lead_id       TEXT    NOT NULL PRIMARY KEY,
            at            INTEGER NOT NULL,  -- UTC ticks of the lead's latest score history entry
            stage         TEXT    NULL,
            stage_key     TEXT    NULL,      -- the stage upper-cased (invariant): matched ignoring case
            grade         TEXT    NULL,
            model_version TEXT    NOT NULL,
            first_score   REAL    NULL,      -- the entry's first score (0 when none); NULL: NaN, ordered last
            score_names   TEXT    NOT NULL   -- the entry's score names, joined by U+001F (its rows in lead_outcome_score)
        ) WITHOUT ROWID;  -- one B-tree by lead id, not a rowid table and an index: a commit rewrites rows all over it
        CREATE INDEX ix_lead_outcome_stage ON lead_outcome (stage_key, first_score DESC, lead_id);

        CREATE TABLE lead_outcome_score (
            lead_id    TEXT NOT NULL,
            score_name TEXT NOT NULL,
            value      REAL NULL,  -- NULL: NaN, ordered last
            PRIMARY KEY (lead_id, score_name)
        ) WITHOUT ROWID;
        CREATE INDEX ix_lead_outcome_score ON lead_outcome_score (score_name, value DESC, lead_id);
        """;

    /// <summary>Migration 5: the outcome tables, then each lead's latest history entry (greatest <c>at</c>, then <c>id</c>) written to them.</summary>
    private static void LeadOutcomeTables(SqliteConnection connection, SqliteTransaction transaction)
    {
        Execute(connection, transaction, LeadOutcomeSql);
        using var outcome = new OutcomeWriter(connection, transaction);
        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = """
            SELECT lead_id, at, scores, grade, stage, model_version FROM score_history h
            WHERE id = (SELECT id FROM score_history l WHERE l.lead_id = h.lead_id ORDER BY at DESC, id DESC LIMIT 1);
            """;
        using var reader = read.ExecuteReader();
        var latest = new List<LeadScoring.Hosting.ScoreHistoryEntry>();
        while (reader.Read())
        {
            latest.Add(new LeadScoring.Hosting.ScoreHistoryEntry(
                reader.GetString(0), new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero), StoreJson.ReadScores(reader.GetString(2)),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5), null));
            if (latest.Count == 10_000)
            {
                outcome.Write(latest);
                latest.Clear();
            }
        }

        outcome.Write(latest);
    }

    /// <summary>
    /// Migration 3 (issue 13): a row and an index entry per message cost more than the rest of a commit; the log is
    /// read whole (on start, to re-score) and never by message, so one row per batch holds its messages as JSON Lines.
    /// The messages of an older database move into one row, in their commit order.
    /// </summary>
    private static void MessageLogByBatch(SqliteConnection connection, SqliteTransaction transaction)
    {
        Execute(connection, transaction, """
            CREATE TABLE message_log (
                seq      INTEGER PRIMARY KEY AUTOINCREMENT,  -- commit order; never reused
                messages TEXT    NOT NULL                    -- JSON Lines: the batch's counted messages, in commit order
            );
            """);
        var lines = new System.Text.StringBuilder();
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT json FROM messages ORDER BY seq;";
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                lines.Append(lines.Length == 0 ? "" : "\n").Append(reader.GetString(0));
            }
        }

        if (lines.Length > 0)
        {
            using var write = connection.CreateCommand();
            write.Transaction = transaction;
            write.CommandText = "INSERT INTO message_log (messages) VALUES ($messages);";
            write.Parameters.AddWithValue("$messages", lines.ToString());
            write.ExecuteNonQuery();
        }

        Execute(connection, transaction, "DROP TABLE messages;");
    }

    /// <summary>The schema version this code creates.</summary>
    internal static int LatestVersion => Migrations[^1].Version;

    /// <summary>Brings the database to <see cref="LatestVersion"/>; a no-op when it is there already.</summary>
    /// <exception cref="InvalidOperationException">The database was written by a newer version of this package.</exception>
    internal static void Migrate(SqliteConnection connection, long nowTicks)
    {
        // IMMEDIATE: takes the write lock first, so that two processes starting at once migrate one after the other.
        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction, """
            CREATE TABLE IF NOT EXISTS schema_version (
                version     INTEGER NOT NULL PRIMARY KEY,
                description TEXT    NOT NULL,
                applied_at  INTEGER NOT NULL  -- UTC ticks
            );
            """);

        int current;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version;";
            current = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"The lead store's schema is at version {current}, newer than this LeadScoring.Sqlite supports ({LatestVersion}); upgrade the package.");
        }

        foreach (var migration in Migrations.Where(m => m.Version > current))
        {
            migration.Apply(connection, transaction);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, description, applied_at) VALUES ($version, $description, $at);";
            record.Parameters.AddWithValue("$version", migration.Version);
            record.Parameters.AddWithValue("$description", migration.Description);
            record.Parameters.AddWithValue("$at", nowTicks);
            record.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private static Action<SqliteConnection, SqliteTransaction> Sql(string sql) =>
        (connection, transaction) => Execute(connection, transaction, sql);

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
