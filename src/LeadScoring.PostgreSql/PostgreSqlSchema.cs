using Npgsql;

namespace LeadScoring.PostgreSql;

/// <summary>
/// The store's schema as an ordered list of migrations. <c>schema_version</c> holds one row per applied migration;
/// <see cref="MigrateAsync"/> applies the missing ones in one transaction, under an advisory lock, so that two hosts
/// starting at once migrate one after the other. To change the schema, append a migration with the next version
/// number; never edit one that has shipped.
/// </summary>
internal static class PostgreSqlSchema
{
    /// <summary>One schema change: its version (1, 2, ...), a description and its SQL, run inside the migration transaction.</summary>
    internal sealed record Migration(int Version, string Description, string Sql);

    internal static readonly IReadOnlyList<Migration> Migrations =
    [
        new(1, "leads, message log, account messages, score history, dead letters, checkpoints, meta, outbox", """
            CREATE TABLE leads (
                lead_id    text     NOT NULL PRIMARY KEY,
                ids        text[]   NOT NULL,  -- every id linked to the lead
                state      bytea    NOT NULL,  -- LeadSnapshot.State (binary state format)
                base_state bytea    NULL,      -- LeadSnapshot.BaseState; NULL: the journal starts from an empty lead
                updated_at bigint   NOT NULL   -- UTC ticks of the commit that wrote the row
            );

            CREATE TABLE messages (
                seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- commit order
                lead_id    text   NOT NULL,
                message_id text   NOT NULL,
                timestamp  bigint NOT NULL,  -- UTC ticks
                json       text   NOT NULL
            );
            CREATE INDEX ix_messages_lead_id ON messages (lead_id, seq);

            CREATE TABLE account_messages (
                id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                group_id   text   NOT NULL,
                message_id text   NOT NULL,
                timestamp  bigint NOT NULL,  -- UTC ticks
                json       text   NOT NULL
            );
            -- Adding a message again is a no-op; md5 keeps the index entry small whatever the message's size.
            CREATE UNIQUE INDEX ux_account_messages ON account_messages (group_id, message_id, timestamp, md5(json));

            CREATE TABLE score_history (
                id            bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                lead_id       text             NOT NULL,
                at            bigint           NOT NULL,  -- UTC ticks
                score_names   text[]           NOT NULL,  -- in model order
                score_values  double precision[] NOT NULL,  -- the same order; NaN, infinities and -0 kept
                grade         text             NULL,
                stage         text             NULL,
                model_version text             NOT NULL,
                message_id    text             NULL
            );
            CREATE INDEX ix_score_history_lead_id ON score_history (lead_id, at, id);

            CREATE TABLE dead_letters (
                id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                source   text   NOT NULL,
                location text   NOT NULL,
                reason   text   NOT NULL,
                raw      text   NULL,
                at       bigint NOT NULL  -- UTC ticks
            );

            CREATE TABLE checkpoints (
                source     text NOT NULL PRIMARY KEY,
                checkpoint text NOT NULL
            );

            CREATE TABLE meta (
                key   text NOT NULL PRIMARY KEY,
                value text NOT NULL
            );

            CREATE TABLE outbox (
                seq     bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                key     text    NOT NULL UNIQUE,  -- the notification's idempotency key
                kind    integer NOT NULL,         -- LeadNotificationKind
                lead_id text    NOT NULL,
                payload text    NOT NULL          -- the handler arguments as JSON
            );
            """),
        new(2, "lead-state checkpoints: messages numbered by logged batch (the position, from 2 on; older rows are batch 1, all in the states) and meta state_position; no account log and no index by lead (the log is read in order)", """
            ALTER TABLE messages ADD COLUMN batch bigint NOT NULL DEFAULT 1;
            ALTER TABLE messages ALTER COLUMN batch DROP DEFAULT;
            CREATE SEQUENCE message_batches START 2;
            INSERT INTO meta (key, value) SELECT 'state_position', CASE WHEN EXISTS (SELECT 1 FROM messages) THEN '1' ELSE '0' END
            ON CONFLICT (key) DO NOTHING;
            DROP INDEX ix_messages_lead_id;
            DROP TABLE account_messages;
            """),
        new(3, "the message log read one batch at a time (the engines' replay history): a BRIN index of messages by batch (batches are appended in order, so a block range summary finds one in a few pages, at almost no cost to inserts)", """
            CREATE INDEX ix_messages_batch ON messages USING brin (batch);
            """),
        new(4, "current outcomes (each lead's latest score history entry), indexed by stage and by each score, filled from the history", """
            CREATE TABLE lead_outcome (
                lead_id       text COLLATE "C" NOT NULL PRIMARY KEY,  -- "C": ties go to the lower id, by code point
                at            bigint           NOT NULL,  -- UTC ticks of the lead's latest score history entry
                stage         text             NULL,
                stage_key     text             NULL,      -- the stage upper-cased: matched ignoring case
                grade         text             NULL,
                model_version text             NOT NULL,
                first_score   double precision NULL,      -- the entry's first score (0 when none); NULL: NaN, ordered last
                score_names   text             NOT NULL   -- the entry's score names, joined by U+001F (its rows in lead_outcome_score)
            );
            CREATE INDEX ix_lead_outcome_stage ON lead_outcome (stage_key, first_score DESC NULLS LAST, lead_id);

            CREATE TABLE lead_outcome_score (
                lead_id    text COLLATE "C" NOT NULL,
                score_name text             NOT NULL,
                value      double precision NULL,  -- NULL: NaN, ordered last
                PRIMARY KEY (lead_id, score_name)
            );
            CREATE INDEX ix_lead_outcome_score ON lead_outcome_score (score_name, value DESC NULLS LAST, lead_id);

            -- Each lead's latest entry: the greatest at, then the greatest id (the last appended).
            CREATE TEMPORARY TABLE latest_history ON COMMIT DROP AS
                SELECT DISTINCT ON (lead_id) lead_id, at, score_names, score_values, grade, stage, model_version
                FROM score_history ORDER BY lead_id, at DESC, id DESC;
            INSERT INTO lead_outcome (lead_id, at, stage, stage_key, grade, model_version, first_score, score_names)
                SELECT lead_id, at, stage, upper(stage), grade, model_version,
                       CASE WHEN cardinality(score_values) = 0 THEN 0 ELSE NULLIF(score_values[1], 'NaN') END,
                       array_to_string(score_names, chr(31))
                FROM latest_history;
            INSERT INTO lead_outcome_score (lead_id, score_name, value)
                SELECT DISTINCT ON (l.lead_id, s.name) l.lead_id, s.name, NULLIF(s.value, 'NaN')
                FROM latest_history l CROSS JOIN LATERAL unnest(l.score_names, l.score_values) WITH ORDINALITY AS s(name, value, n)
                ORDER BY l.lead_id, s.name, s.n;
            """),
        new(5, "leases: one row per pipeline scope, held by one host at a time (owner, epoch raised by every takeover, expiry in server time)", """
            CREATE TABLE lease (
                scope      text        NOT NULL PRIMARY KEY,
                owner      text        NOT NULL,  -- the host holding it (PostgreSqlLeadStoreOptions.LeaseOwner)
                epoch      bigint      NOT NULL,  -- 1, 2, ...: raised by every acquisition; commits are fenced by it
                expires_at timestamptz NOT NULL   -- server time; '-infinity' once released
            );
            """),
        new(6, "the message log as one row per logged batch (JSON Lines, stored out of line without compression) instead of one row per message: a row, a heap tuple and an index entry per message cost the server more than the rest of a commit", """
            CREATE TABLE message_log (
                batch    bigint NOT NULL PRIMARY KEY,  -- the log position (from message_batches), in commit order
                messages text   NOT NULL               -- JSON Lines: the batch's counted messages, in commit order
            );
            ALTER TABLE message_log ALTER COLUMN messages SET STORAGE EXTERNAL;
            INSERT INTO message_log (batch, messages)
                SELECT batch, string_agg(json, E'\n' ORDER BY seq) FROM messages GROUP BY batch;
            DROP TABLE messages;
            """),
        new(7, "the score history without a number drawn per row and with a hash index by lead: a row's id is its commit's number (score_history_commits) times 2^24 plus its place in the commit, and the B-tree on (lead_id, at, id) and the primary key on id give way to a hash index on lead_id (a history is read, rewritten and renamed by lead; its few rows are sorted as read)", """
            ALTER TABLE score_history ALTER COLUMN id DROP IDENTITY IF EXISTS;
            ALTER TABLE score_history DROP CONSTRAINT IF EXISTS score_history_pkey;
            DROP INDEX IF EXISTS ix_score_history_lead_id;
            CREATE INDEX ix_score_history_lead ON score_history USING hash (lead_id);
            CREATE SEQUENCE score_history_commits;
            -- Above every id written before (those were 1, 2, 3, ...).
            SELECT setval('score_history_commits', (SELECT COALESCE(MAX(id), 0) >> 24 FROM score_history) + 1, false);
            """),
    ];

    /// <summary>The schema version this code creates.</summary>
    internal static int LatestVersion => Migrations[^1].Version;

    /// <summary>Brings the schema to <see cref="LatestVersion"/>; a no-op when it is there already.</summary>
    /// <exception cref="InvalidOperationException">The schema was written by a newer version of this package, or the search path names no schema.</exception>
    internal static async Task MigrateAsync(NpgsqlConnection connection, TimeProvider time, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        string? schema = await ScalarAsync(connection, "SELECT current_schema();", cancellationToken).ConfigureAwait(false) as string
            ?? throw new InvalidOperationException("The lead store found no schema to create its tables in: the search path names no existing schema.");

        // One migration at a time per schema, across processes; released at commit or rollback.
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('LeadScoring.PostgreSql:' || $1));", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = schema });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await ScalarAsync(connection, """
            CREATE TABLE IF NOT EXISTS schema_version (
                version     integer NOT NULL PRIMARY KEY,
                description text    NOT NULL,
                applied_at  bigint  NOT NULL  -- UTC ticks
            );
            """, cancellationToken).ConfigureAwait(false);
        int current = Convert.ToInt32(
            await ScalarAsync(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_version;", cancellationToken).ConfigureAwait(false),
            System.Globalization.CultureInfo.InvariantCulture);
        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"The lead store's schema is at version {current}, newer than this LeadScoring.PostgreSql supports ({LatestVersion}); upgrade the package.");
        }

        foreach (var migration in Migrations.Where(m => m.Version > current))
        {
            await ScalarAsync(connection, migration.Sql, cancellationToken).ConfigureAwait(false);
            await using var record = new NpgsqlCommand("INSERT INTO schema_version (version, description, applied_at) VALUES ($1, $2, $3);", connection);
            record.Parameters.Add(new NpgsqlParameter { Value = migration.Version });
            record.Parameters.Add(new NpgsqlParameter { Value = migration.Description });
            record.Parameters.Add(new NpgsqlParameter { Value = time.GetUtcNow().UtcTicks });
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }
}
