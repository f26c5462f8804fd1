using System.Runtime.CompilerServices;
using System.Text;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Stores;
using Npgsql;
using NpgsqlTypes;

namespace LeadScoring.PostgreSql;

/// <summary>
/// A lead store in a PostgreSQL database: lead states (at state checkpoints), the message log, score history, dead letters,
/// the handler outbox, source checkpoints and the model version. Each <see cref="CommitAsync"/> is one PostgreSQL
/// transaction: after a crash of the host or the server the whole batch is there or none of it.
/// </summary>
/// <remarks>
/// <para>Writes are batched: the message log, score history and dead letters go in with binary <c>COPY</c>, leads through
/// a <c>COPY</c> into a temporary table and one upsert, checkpoints and the outbox as multi-row upserts
/// of arrays (<c>unnest</c>). A commit is a fixed number of round trips, whatever the batch's size.</para>
/// <para>Thread safety: every member may be called from any thread, concurrently. Commits and acknowledgements take turns
/// on the store's one write connection (so the message log keeps commit order); reads use pooled connections of their
/// own and do not wait for a commit. The three <c>Load...Async</c> enumerations read in one repeatable-read transaction
/// (a snapshot as of their start) and stream their rows.</para>
/// <para>PostgreSQL text cannot hold the character U+0000: the store writes it, and U+0001, as two-character escapes
/// and reads them back, so every id, key and text round-trips exactly.</para>
/// </remarks>
public sealed class PostgreSqlLeadStore : ILeadStore, IAsyncDisposable, IDisposable
{
    private const string ModelVersionKey = "model_version";

    /// <summary>The <c>meta</c> key of the stage clock's last processed tick (UTC ticks, as invariant text).</summary>
    private const string StageClockKey = "stage_clock";

    /// <summary>The <c>meta</c> key of the message log position (a <c>message_log.batch</c>) the stored lead states are as of.</summary>
    private const string StatePositionKey = "state_position";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private NpgsqlConnection? _writer;
    private bool _initialized;
    private bool _disposed;

    /// <summary>Creates a store; <see cref="InitializeAsync"/> connects and creates or migrates the schema.</summary>
    /// <param name="options">The connection string and timeout.</param>
    /// <param name="timeProvider">The clock of <c>updated_at</c> and <c>applied_at</c>; the system clock when null.</param>
    /// <exception cref="ArgumentException">The connection string is missing or invalid, or the timeout negative.</exception>
    public PostgreSqlLeadStore(PostgreSqlLeadStoreOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var validated = options.Validated();
        var builder = new NpgsqlConnectionStringBuilder(validated.ConnectionString) { CommandTimeout = validated.CommandTimeoutSeconds };
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        _time = timeProvider ?? TimeProvider.System;
        Lease = validated.Lease is null ? null : new PostgreSqlLease(_dataSource, InitializeAsync, _time, validated);
    }

    /// <summary>The lease of <see cref="PostgreSqlLeadStoreOptions.Lease"/>, or null: when set, every commit and acknowledgement is fenced by it.</summary>
    internal PostgreSqlLease? Lease { get; }

    /// <summary>Called after each step of a commit, inside its transaction (tests inject failures with it).</summary>
    internal Action<string>? CommitStepHook { get; set; }

    /// <summary>Connects, then creates or migrates the schema. Calling it again is a no-op.</summary>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_initialized)
            {
                return;
            }

            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                await PostgreSqlSchema.MigrateAsync(connection, _time, cancellationToken).ConfigureAwait(false);
            }

            _writer = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
            _initialized = true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public ValueTask<string?> GetCheckpointAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        return ScalarAsync("SELECT checkpoint FROM checkpoints WHERE source = $1;", source, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<string?> GetModelVersionAsync(CancellationToken cancellationToken) =>
        ScalarAsync("SELECT value FROM meta WHERE key = $1;", ModelVersionKey, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<DateTimeOffset?> GetStageClockAsync(CancellationToken cancellationToken)
    {
        string? text = await ScalarAsync("SELECT value FROM meta WHERE key = $1;", StageClockKey, cancellationToken).ConfigureAwait(false);
        return text is null ? null : new DateTimeOffset(long.Parse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Zero);
    }

    /// <inheritdoc />
    public async ValueTask<long> GetStatePositionAsync(CancellationToken cancellationToken)
    {
        string? text = await ScalarAsync("SELECT value FROM meta WHERE key = $1;", StatePositionKey, cancellationToken).ConfigureAwait(false);
        return text is null ? 0 : long.Parse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every stored lead state, by lead id, as committed (no journal: the pipeline reads the lead's messages from the log).</summary>
    public IAsyncEnumerable<LeadSnapshot> LoadLeadsAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT lead_id, ids, state, base_state FROM leads ORDER BY lead_id;", ReadLead, cancellationToken);

    /// <summary>The logged batches after <paramref name="after"/>: one row of <c>message_log</c> each, its <c>batch</c> the position, in commit order.</summary>
    public IAsyncEnumerable<(long Position, IReadOnlyList<LeadMessage> Messages)> ReadLogAsync(long after, CancellationToken cancellationToken) =>
        QueryAsync("SELECT batch, messages FROM message_log WHERE batch > $1 ORDER BY batch;",
            r => (r.GetInt64(0), (IReadOnlyList<LeadMessage>)MessageJsonLines.Parse(PgText.Decode(r.GetString(1)), $"message_log batch {r.GetInt64(0)}")), cancellationToken, after);

    /// <summary>
    /// Writes <paramref name="batch"/> in one transaction: stored leads are deleted first when
    /// <see cref="LeadStoreBatch.ReplaceAllLeads"/> is set, then <see cref="LeadStoreBatch.RemovedLeads"/> are deleted,
    /// then <see cref="LeadStoreBatch.Leads"/> inserted or replaced (so a lead both removed and written is kept; a lead
    /// given twice is stored as its last snapshot), then the score history renamed, cut and appended and the current
    /// outcomes written, then the messages (one batch number, and for a state checkpoint the position recorded) and dead
    /// letters appended, the checkpoints set, the model version stored when given and the notifications added to the
    /// outbox. When it returns, the batch is committed; when it throws, nothing of it was
    /// written (and the write connection is opened again for the next commit).
    /// </summary>
    public async ValueTask CommitAsync(LeadStoreBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();

        // The columns are made before taking the lock: reads and other commits are not held up by it. The message log's
        // row, most of a commit's JSON, is made on another thread meanwhile: the transaction writes the leads, the score
        // history and the outcomes first, then waits for it (as SQLite's store does). The messages' JSON buffer is reused
        // by the next commit (a batch's is hundreds of kilobytes: no large object per commit).
        var json = _messageJson.TryTake(out var reused) ? reused : new MessageJsonLines();
        var history = _historyRows.TryTake(out var reusedRows) ? reusedRows : new HistoryCopyRows();
        var logJson = batch.Messages.Count == 0 ? Task.CompletedTask : Task.Run(() => json.Write(batch.Messages), CancellationToken.None);
        var historyCopy = batch.History.Count == 0 ? Task.CompletedTask : Task.Run(() => history.Write(batch.History), CancellationToken.None);
        try
        {
            var rows = new BatchRows(batch, json, history);
            await OnWriterAsync(connection => WriteAsync(connection, batch, rows, logJson, historyCopy, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The buffers are written to until the tasks end, even when the commit failed first.
            await logJson.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await historyCopy.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (json.Clear())
            {
                _messageJson.Add(json);
            }

            if (history.Clear())
            {
                _historyRows.Add(history);
            }
        }
    }

    /// <summary>The message JSON buffers of finished commits, for the next ones.</summary>
    private readonly System.Collections.Concurrent.ConcurrentBag<MessageJsonLines> _messageJson = [];

    /// <summary>The score history row buffers of finished commits, for the next ones.</summary>
    private readonly System.Collections.Concurrent.ConcurrentBag<HistoryCopyRows> _historyRows = [];

    /// <summary>Runs <paramref name="write"/> on the write connection, under the write lock.</summary>
    private async Task OnWriterAsync(Func<NpgsqlConnection, Task> write, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await WriterAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await write(connection).ConfigureAwait(false);
            }
            catch
            {
                // Whatever state the connection is in (a failed transaction, a broken COPY), the next write starts afresh.
                _writer = null;
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task WriteAsync(NpgsqlConnection connection, LeadStoreBatch batch, BatchRows rows, Task logJson, Task historyCopy, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (Lease is not null)
        {
            // First, and locked until the commit ends: a host that lost the lease writes nothing.
            await Lease.FenceAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        }

        if (batch.ReplaceAllLeads)
        {
            await ExecuteAsync(connection, "DELETE FROM leads;", cancellationToken).ConfigureAwait(false);
        }

        Step("replace-all");
        if (rows.RemovedLeads.Length > 0)
        {
            await ExecuteAsync(connection, "DELETE FROM leads WHERE lead_id = ANY($1);", cancellationToken, (object)rows.RemovedLeads).ConfigureAwait(false);
        }

        Step("removed-leads");
        if (rows.Leads.Count > 0)
        {
            long now = _time.GetUtcNow().UtcTicks;
            var copy = await connection.BeginBinaryImportAsync("COPY leads_in (lead_id, ids, state, base_state) FROM STDIN (FORMAT BINARY);", cancellationToken).ConfigureAwait(false);
            await using (copy.ConfigureAwait(false))
            {
                foreach (var lead in rows.Leads)
                {
                    await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(PgText.Encode(lead.LeadId), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(lead.Ids.Select(PgText.Encode).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(lead.State, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                    if (lead.BaseState is { IsEmpty: false } baseState)  // empty: no base, as LeadSnapshot.Create reads it
                    {
                        await copy.WriteAsync(baseState, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await copy.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                    }
                }

                await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            await ExecuteAsync(connection, """
                INSERT INTO leads (lead_id, ids, state, base_state, updated_at)
                SELECT lead_id, ids, state, base_state, $1 FROM leads_in
                ON CONFLICT (lead_id) DO UPDATE SET
                    ids = excluded.ids, state = excluded.state, base_state = excluded.base_state, updated_at = excluded.updated_at;
                """, cancellationToken, now).ConfigureAwait(false);
        }

        Step("leads");
        // The numbers the commit draws, in one round trip: the logged batch's position (ILeadStateStore, IMessageLog) and
        // the history rows' commit numbers (see below).
        var (logged, commits) = await DrawNumbersAsync(connection, batch.Messages.Count > 0, batch.History.Count, cancellationToken).ConfigureAwait(false);
        // Renames one by one, in the batch's order, as every store applies them (a rename may follow another), then the
        // rewritten histories' deletes: one round trip.
        var rewrites = new List<NpgsqlBatchCommand>();
        foreach (var (from, to) in batch.HistoryRenamed)
        {
            rewrites.Add(Statement("UPDATE score_history SET lead_id = $2 WHERE lead_id = $1;", PgText.Encode(from), PgText.Encode(to)));
        }

        if (batch.HistoryReplacedFrom.Count > 0)
        {
            // "lead_id = ANY": an index condition on the history whatever the planner knows of it (without statistics, a
            // join with the list alone is planned as a scan of the whole history).
            rewrites.Add(Statement("""
                DELETE FROM score_history h USING unnest($1::text[], $2::bigint[]) AS d(lead_id, from_at)
                WHERE h.lead_id = d.lead_id AND h.at >= d.from_at AND h.lead_id = ANY($1::text[]);
                """,
                batch.HistoryReplacedFrom.Keys.Select(PgText.Encode).ToArray(),
                batch.HistoryReplacedFrom.Values.Select(v => v.UtcTicks).ToArray()));
        }

        await ExecuteAsync(connection, rewrites, cancellationToken).ConfigureAwait(false);

        if (batch.History.Count > 0)
        {
            // The rows, made meanwhile on another thread in PostgreSQL's binary copy format (HistoryCopyRows), sent in one
            // write. Their ids: a number per 2^24 rows from score_history_commits, shifted, plus the row's place (schema
            // migration 7). They order a lead's rows of one instant as they were written; no number is drawn per row.
            await historyCopy.ConfigureAwait(false);
            rows.History.SetIds(row => (commits[row >> HistoryRowBits] << HistoryRowBits) | (long)(row & ((1 << HistoryRowBits) - 1)));
            var copy = await connection.BeginRawBinaryCopyAsync(
                $"COPY score_history ({HistoryCopyRows.Columns}) FROM STDIN (FORMAT BINARY);", cancellationToken).ConfigureAwait(false);
            await using (copy.ConfigureAwait(false))
            {
                await copy.WriteAsync(rows.History.Payload, cancellationToken).ConfigureAwait(false);
            }
        }

        // The current outcomes the batch gives (ILeadOutcomeStore): at state checkpoints and stage-clock commits.
        await WriteOutcomesAsync(connection, batch, cancellationToken).ConfigureAwait(false);
        Step("history");
        if (batch.Messages.Count > 0)
        {
            // The batch's messages as one row of JSON Lines (the UTF-8 text as it is), made meanwhile on another thread.
            await logJson.ConfigureAwait(false);
            var copy = await connection.BeginBinaryImportAsync("COPY message_log (batch, messages) FROM STDIN (FORMAT BINARY);", cancellationToken).ConfigureAwait(false);
            await using (copy.ConfigureAwait(false))
            {
                await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(logged, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(rows.Messages.LinesMemory, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        if (batch.StateCheckpoint)
        {
            if (logged == 0)
            {
                logged = Convert.ToInt64(await ScalarAsync(connection, "SELECT COALESCE(MAX(batch), 0) FROM message_log;", cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            }

            await ExecuteAsync(connection, """
                INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                """, cancellationToken, StatePositionKey, logged.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        }

        Step("messages");
        if (batch.DeadLetters.Count > 0)
        {
            var copy = await connection.BeginBinaryImportAsync("COPY dead_letters (source, location, reason, raw, at) FROM STDIN (FORMAT BINARY);", cancellationToken).ConfigureAwait(false);
            await using (copy.ConfigureAwait(false))
            {
                foreach (var letter in batch.DeadLetters)
                {
                    await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                    await WriteTextAsync(copy, letter.Source, cancellationToken).ConfigureAwait(false);
                    await WriteTextAsync(copy, letter.Location, cancellationToken).ConfigureAwait(false);
                    await WriteTextAsync(copy, letter.Reason, cancellationToken).ConfigureAwait(false);
                    await WriteTextAsync(copy, letter.Raw, cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(letter.At.UtcTicks, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                }

                await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        Step("dead-letters");
        // The commit's small statements, in one round trip.
        var last = new List<NpgsqlBatchCommand>();
        if (batch.Checkpoints.Count > 0)
        {
            last.Add(Statement("""
                INSERT INTO checkpoints (source, checkpoint) SELECT * FROM unnest($1::text[], $2::text[])
                ON CONFLICT (source) DO UPDATE SET checkpoint = excluded.checkpoint;
                """,
                batch.Checkpoints.Keys.Select(PgText.Encode).ToArray(),
                batch.Checkpoints.Values.Select(PgText.EncodeOrNull).ToArray()));
        }

        if (batch.ModelVersion is not null)
        {
            last.Add(Statement("""
                INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                """, ModelVersionKey, PgText.Encode(batch.ModelVersion)));
        }

        if (batch.StageClock is { } tick)
        {
            last.Add(Statement("""
                INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                """, StageClockKey, tick.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (rows.Notifications.Count > 0)
        {
            last.Add(Statement("""
                INSERT INTO outbox (key, kind, lead_id, payload) SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[])
                ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, lead_id = excluded.lead_id, payload = excluded.payload;
                """,
                rows.Notifications.Select(n => PgText.Encode(n.Key)).ToArray(),
                rows.Notifications.Select(n => (int)n.Kind).ToArray(),
                rows.Notifications.Select(n => PgText.Encode(n.LeadId)).ToArray(),
                rows.Notifications.Select(n => PgText.Encode(n.Payload)).ToArray()));
        }

        await ExecuteAsync(connection, last, cancellationToken).ConfigureAwait(false);
        Step("checkpoints");
        Step("model-version");
        Step("stage-clock");
        Step("notifications");
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        batch.LogPosition = batch.Messages.Count > 0 ? logged : 0;
    }

    /// <summary>
    /// The messages of the <c>message_log</c> row whose <c>batch</c> is <paramref name="position"/>; null when there is
    /// none. Synchronous (Npgsql's synchronous API, on a pooled connection of its own): it does not wait for a commit in
    /// progress.
    /// </summary>
    public IReadOnlyList<LeadMessage>? ReadLogBatch(long position)
    {
        ThrowIfNotOpen();
        using var connection = _dataSource.OpenConnection();
        using var command = new NpgsqlCommand("SELECT messages FROM message_log WHERE batch = $1;", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = position });
        return command.ExecuteScalar() is string lines ? MessageJsonLines.Parse(PgText.Decode(lines), $"message_log batch {position}") : null;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<ScoreHistoryEntry>> GetHistoryAsync(string leadId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        var entries = new List<ScoreHistoryEntry>();
        await foreach (var entry in QueryAsync("""
            SELECT lead_id, at, score_names, score_values, grade, stage, model_version, message_id
            FROM score_history WHERE lead_id = $1 ORDER BY at, id;
            """, ReadHistory, cancellationToken, PgText.Encode(leadId)).ConfigureAwait(false))
        {
            entries.Add(entry);
        }

        return entries;
    }

    /// <summary>
    /// Writes a batch's current outcomes: every stored one deleted first with a re-scoring, then the removed ones; then,
    /// in three statements, the score rows of names an outcome no longer has are deleted, each outcome is upserted and
    /// its changed scores upserted.
    /// </summary>
    private static async Task WriteOutcomesAsync(NpgsqlConnection connection, LeadStoreBatch batch, CancellationToken cancellationToken)
    {
        if (batch.ReplaceAllLeads)
        {
            await ExecuteAsync(connection, "DELETE FROM lead_outcome; DELETE FROM lead_outcome_score;", cancellationToken).ConfigureAwait(false);
        }

        if (batch.RemovedOutcomes.Count > 0)
        {
            string[] removed = [.. batch.RemovedOutcomes.Select(PgText.Encode)];
            await ExecuteAsync(connection, "DELETE FROM lead_outcome WHERE lead_id = ANY($1);", cancellationToken, (object)removed).ConfigureAwait(false);
            await ExecuteAsync(connection, "DELETE FROM lead_outcome_score WHERE lead_id = ANY($1);", cancellationToken, (object)removed).ConfigureAwait(false);
        }

        var outcomes = batch.Outcomes;
        if (outcomes.Count == 0)
        {
            return;
        }

        string[] leads = [.. outcomes.Select(o => PgText.Encode(o.LeadId))];
        string[] names = [.. outcomes.Select(o => PgText.Encode(LeadOutcomes.ScoreNames(o)))];

        // Score rows of names the lead's new outcome does not have (another model): deleted first.
        await ExecuteAsync(connection, """
            DELETE FROM lead_outcome_score s USING unnest($1::text[], $2::text[]) AS n(lead_id, names), lead_outcome o
            WHERE o.lead_id = n.lead_id AND s.lead_id = n.lead_id AND o.score_names IS DISTINCT FROM n.names;
            """, cancellationToken, leads, names).ConfigureAwait(false);

        await ExecuteAsync(connection, """
            INSERT INTO lead_outcome (lead_id, at, stage, stage_key, grade, model_version, first_score, score_names)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::double precision[], $8::text[])
            ON CONFLICT (lead_id) DO UPDATE SET
                at = excluded.at, stage = excluded.stage, stage_key = excluded.stage_key, grade = excluded.grade,
                model_version = excluded.model_version, first_score = excluded.first_score, score_names = excluded.score_names;
            """, cancellationToken,
            leads,
            outcomes.Select(o => o.At.UtcTicks).ToArray(),
            outcomes.Select(o => PgText.EncodeOrNull(o.Stage)).ToArray(),
            outcomes.Select(o => PgText.EncodeOrNull(LeadOutcomes.StageKey(o.Stage))).ToArray(),
            outcomes.Select(o => PgText.EncodeOrNull(o.Grade)).ToArray(),
            outcomes.Select(o => PgText.Encode(o.ModelVersion)).ToArray(),
            outcomes.Select(LeadOutcomes.FirstScore).ToArray(),
            names).ConfigureAwait(false);

        var scores = outcomes
            .SelectMany(o => LeadOutcomes.Scores(o).Select(s => (Lead: PgText.Encode(o.LeadId), Name: PgText.Encode(s.Key), Value: LeadOutcomes.Sortable(s.Value))))
            .ToList();
        if (scores.Count > 0)
        {
            // Changed values only: an unchanged row is left alone (no new row version, no index entry).
            await ExecuteAsync(connection, """
                INSERT INTO lead_outcome_score (lead_id, score_name, value) SELECT * FROM unnest($1::text[], $2::text[], $3::double precision[])
                ON CONFLICT (lead_id, score_name) DO UPDATE SET value = excluded.value
                WHERE lead_outcome_score.value IS DISTINCT FROM excluded.value;
                """, cancellationToken,
                scores.Select(s => s.Lead).ToArray(), scores.Select(s => s.Name).ToArray(), scores.Select(s => s.Value).ToArray()).ConfigureAwait(false);
        }
    }

    /// <summary>The leads with the highest <paramref name="score"/> in their current outcome, with it: an index read of <c>lead_outcome_score</c>.</summary>
    public ValueTask<IReadOnlyList<(string LeadId, double Value)>> TopAsync(string score, int count, CancellationToken cancellationToken) =>
        IdsAsync("SELECT lead_id, value FROM lead_outcome_score WHERE score_name = $1 ORDER BY value DESC NULLS LAST, lead_id LIMIT $2;", LeadOutcomes.ScoreQuery(score, count), count, cancellationToken);

    /// <summary>The leads whose current outcome is in <paramref name="stage"/>, by its first score, with it: an index read of <c>lead_outcome</c>.</summary>
    public ValueTask<IReadOnlyList<(string LeadId, double Value)>> InStageAsync(string stage, int count, CancellationToken cancellationToken) =>
        IdsAsync("SELECT lead_id, first_score FROM lead_outcome WHERE stage_key = $1 ORDER BY first_score DESC NULLS LAST, lead_id LIMIT $2;", LeadOutcomes.StageQuery(stage, count), count, cancellationToken);

    private async ValueTask<IReadOnlyList<(string LeadId, double Value)>> IdsAsync(string sql, string key, int count, CancellationToken cancellationToken)
    {
        var ids = new List<(string LeadId, double Value)>();
        await foreach (var id in QueryAsync(sql, r => (Text(r, 0)!, r.IsDBNull(1) ? double.NaN : r.GetDouble(1)), cancellationToken, PgText.Encode(key), (long)count).ConfigureAwait(false))
        {
            ids.Add(id);
        }

        return ids;
    }

    /// <summary>The <paramref name="max"/> dead letters committed last, the last one first.</summary>
    public async ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var letters = new List<DeadLetter>();
        await foreach (var letter in QueryAsync(
            "SELECT source, location, reason, raw, at FROM dead_letters ORDER BY id DESC LIMIT $1;",
            r => new DeadLetter(Text(r, 0)!, Text(r, 1)!, Text(r, 2)!, Text(r, 3), new DateTimeOffset(r.GetInt64(4), TimeSpan.Zero)),
            cancellationToken, (long)max).ConfigureAwait(false))
        {
            letters.Add(letter);
        }

        return letters;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<LeadNotification>> LoadPendingNotificationsAsync(CancellationToken cancellationToken)
    {
        var pending = new List<LeadNotification>();
        await foreach (var n in QueryAsync(
            "SELECT key, kind, lead_id, payload FROM outbox ORDER BY seq;",
            r => new LeadNotification(Text(r, 0)!, (LeadNotificationKind)r.GetInt32(1), Text(r, 2)!, Text(r, 3)!),
            cancellationToken).ConfigureAwait(false))
        {
            pending.Add(n);
        }

        return pending;
    }

    /// <inheritdoc />
    public async ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return;
        }

        string[] encoded = [.. keys.Select(PgText.Encode)];
        await OnWriterAsync(
            async connection =>
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                if (Lease is not null)
                {
                    await Lease.FenceAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                }

                await ExecuteAsync(connection, "DELETE FROM outbox WHERE key = ANY($1);", cancellationToken, (object)encoded).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the write connection (waiting for a commit in progress) and the connection pool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Lease is not null)
        {
            await Lease.DisposeAsync().ConfigureAwait(false);
        }

        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_writer is not null)
            {
                await _writer.DisposeAsync().ConfigureAwait(false);
                _writer = null;
            }

            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Closes the write connection (waiting for a commit in progress) and the connection pool.</summary>
    public void Dispose()
    {
        Lease?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _writeLock.Wait();
        try
        {
            _disposed = true;
            _writer?.Dispose();
            _writer = null;
            _dataSource.Dispose();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>How many low bits of a score history row's id number it within its commit (schema migration 7).</summary>
    private const int HistoryRowBits = 24;

    /// <summary>
    /// The numbers a commit draws, in one query: a position from <c>message_batches</c> when it logs messages (else 0),
    /// and for <paramref name="historyRows"/> score history rows one number per 2^24 rows from
    /// <c>score_history_commits</c>, rising (the sequence only rises; none without history rows).
    /// </summary>
    private static async Task<(long Logged, long[] HistoryCommits)> DrawNumbersAsync(
        NpgsqlConnection connection, bool logs, int historyRows, CancellationToken cancellationToken)
    {
        int count = historyRows == 0 ? 0 : (historyRows >> HistoryRowBits) + 1;
        if (!logs && count == 0)
        {
            return (0, []);
        }

        await using var command = new NpgsqlCommand("""
            SELECT CASE WHEN $1 THEN nextval('message_batches') ELSE 0 END,
                   ARRAY(SELECT nextval('score_history_commits') FROM generate_series(1, $2) ORDER BY 1);
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = logs });
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetInt64(0), reader.GetFieldValue<long[]>(1));
    }

    private void Step(string name) => CommitStepHook?.Invoke(name);

    private void ThrowIfNotOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
        {
            throw new InvalidOperationException("The lead store is not open: call InitializeAsync first.");
        }
    }

    /// <summary>The write connection, opened again after a failed commit. Called under the write lock.</summary>
    private async ValueTask<NpgsqlConnection> WriterAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        return _writer ??= await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> OpenWriterAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The staging table of the lead upsert: private to this connection, emptied by every commit.
            await ExecuteAsync(connection, """
                CREATE TEMPORARY TABLE IF NOT EXISTS leads_in (
                    lead_id text NOT NULL, ids text[] NOT NULL, state bytea NOT NULL, base_state bytea NULL
                ) ON COMMIT DELETE ROWS;
                """, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A statement of a batch run by <see cref="ExecuteAsync(NpgsqlConnection, List{NpgsqlBatchCommand}, CancellationToken)"/>, with its positional parameters.</summary>
    private static NpgsqlBatchCommand Statement(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    /// <summary>Runs <paramref name="statements"/> in order, in one round trip; nothing when there are none.</summary>
    private static async Task ExecuteAsync(NpgsqlConnection connection, List<NpgsqlBatchCommand> statements, CancellationToken cancellationToken)
    {
        if (statements.Count == 0)
        {
            return;
        }

        await using var batch = new NpgsqlBatch(connection);
        foreach (var statement in statements)
        {
            batch.BatchCommands.Add(statement);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Task WriteTextAsync(NpgsqlBinaryImporter copy, string? text, CancellationToken cancellationToken) =>
        text is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(PgText.Encode(text), NpgsqlDbType.Text, cancellationToken);

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<string?> ScalarAsync(string sql, string key, CancellationToken cancellationToken)
    {
        await foreach (var value in QueryAsync(sql, r => Text(r, 0), cancellationToken, PgText.Encode(key)).ConfigureAwait(false))
        {
            return value;
        }

        return null;
    }

    /// <summary>Streams the rows of <paramref name="sql"/> on a pooled connection, in one read-only repeatable-read transaction (a snapshot).</summary>
    private async IAsyncEnumerable<T> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, [EnumeratorCancellation] CancellationToken cancellationToken, params object[] parameters)
    {
        ThrowIfNotOpen();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await using var command = new NpgsqlCommand(sql, connection, transaction);
                foreach (var value in parameters)
                {
                    command.Parameters.Add(new NpgsqlParameter { Value = value });
                }

                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        yield return read(reader);
                    }
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : PgText.Decode(reader.GetString(ordinal));

    private static LeadSnapshot ReadLead(NpgsqlDataReader reader)
    {
        string leadId = PgText.Decode(reader.GetString(0));
        var ids = reader.GetFieldValue<string[]>(1);
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = PgText.Decode(ids[i]);
        }

        byte[] state = reader.GetFieldValue<byte[]>(2);
        ReadOnlyMemory<byte>? baseState = reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3);
        return LeadSnapshot.Create(leadId, ids, state, baseState, []);
    }

    private static ScoreHistoryEntry ReadHistory(NpgsqlDataReader reader)
    {
        var names = reader.GetFieldValue<string[]>(2);
        var values = reader.GetFieldValue<double[]>(3);
        if (names.Length != values.Length)
        {
            throw new InvalidDataException("Lead store: a score history row has as many score names as values.");
        }

        var scores = new KeyValuePair<string, double>[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            scores[i] = new(PgText.Decode(names[i]), values[i]);
        }

        return new ScoreHistoryEntry(
            Text(reader, 0)!, new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero), scores, Text(reader, 4), Text(reader, 5), Text(reader, 6)!, Text(reader, 7));
    }

    /// <summary>The columns of a batch that take work to make, made before the write lock is taken.</summary>
    private sealed class BatchRows
    {
        public BatchRows(LeadStoreBatch batch, MessageJsonLines messages, HistoryCopyRows history)
        {
            History = history;
            // A lead given twice is stored as its last snapshot (an upsert statement may touch a row once).
            var last = new Dictionary<string, int>(batch.Leads.Count, StringComparer.Ordinal);
            for (int i = 0; i < batch.Leads.Count; i++)
            {
                last[batch.Leads[i].LeadId] = i;
            }

            Leads = last.Count == batch.Leads.Count ? batch.Leads : [.. last.Values.Order().Select(i => batch.Leads[i])];
            RemovedLeads = [.. batch.RemovedLeads.Select(PgText.Encode)];

            Messages = messages;

            // A notification given twice keeps its first place and its last content, as repeated upserts would.
            var notifications = new List<LeadNotification>(batch.Notifications.Count);
            var place = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var n in batch.Notifications)
            {
                if (place.TryGetValue(n.Key, out int at))
                {
                    notifications[at] = n;
                }
                else
                {
                    place.Add(n.Key, notifications.Count);
                    notifications.Add(n);
                }
            }

            Notifications = notifications;
        }

        public IReadOnlyList<LeadSnapshot> Leads { get; }

        public string[] RemovedLeads { get; }

        /// <summary>Each message's JSON (the batch's counted messages: each once).</summary>
        public MessageJsonLines Messages { get; }

        /// <summary>The score history rows, as the payload of a binary <c>COPY</c>.</summary>
        public HistoryCopyRows History { get; }

        public IReadOnlyList<LeadNotification> Notifications { get; }
    }
}
