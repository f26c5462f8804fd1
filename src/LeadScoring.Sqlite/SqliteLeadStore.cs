using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Stores;
using Microsoft.Data.Sqlite;

namespace LeadScoring.Sqlite;

/// <summary>
/// A lead store in one SQLite file: lead states (at state checkpoints), the message log, score history, dead letters,
/// source checkpoints and the model version. Each <see cref="CommitAsync"/> is one SQLite transaction in a
/// write-ahead-logged database: after a crash the whole batch is there or none of it.
/// </summary>
/// <remarks>
/// <para>Thread safety: every member may be called from any thread, concurrently. The store keeps one connection;
/// commits and point reads (<see cref="GetCheckpointAsync"/>, <see cref="GetHistoryAsync"/>, ...) take turns on it
/// behind a lock, so a read waits for a commit in progress. The enumerations (<see cref="LoadLeadsAsync"/>, <see cref="ReadLogAsync"/>) open their own
/// read connection and see the store as of their start (a snapshot), without holding the lock while they are
/// enumerated; for a private in-memory database (<c>Data Source=:memory:</c>) they read everything under the lock first.</para>
/// <para>The SQLite calls are synchronous: the asynchronous methods complete on the calling thread, except that a
/// commit makes its message log row's JSON on a thread-pool thread while its transaction writes the rest, and waits
/// for it before inserting that row.</para>
/// <para>The write-ahead log of a file database is checkpointed into the file every 64 MiB on a thread and a connection
/// of the store's own, while commits go on, not inside the commit that fills it (<see cref="WalCheckpointer"/>).</para>
/// </remarks>
public sealed class SqliteLeadStore : ILeadStore, IAsyncDisposable, IDisposable
{
    private const string ModelVersionKey = "model_version";

    /// <summary>The <c>meta</c> key of the stage clock's last processed tick (UTC ticks, as invariant text).</summary>
    private const string StageClockKey = "stage_clock";

    /// <summary>The <c>meta</c> key of the message log position the stored lead states are as of (a <c>message_log.seq</c>).</summary>
    private const string StatePositionKey = "state_position";

    private readonly SqliteLeadStoreOptions _options;
    private readonly string _connectionString;
    private readonly bool _privateDatabase;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>The batch JSON buffers of finished commits, for the next ones.</summary>
    private readonly System.Collections.Concurrent.ConcurrentBag<BatchJson> _json = [];
    private SqliteConnection? _connection;
    private CommitCommands? _commands;
    private bool _disposed;

    /// <summary>Whether the database is a file in write-ahead-log mode (set by <see cref="Configure"/>).</summary>
    private bool _walMode;

    /// <summary>The log's checkpoints, off the commit path (a file database in WAL mode).</summary>
    private WalCheckpointer? _checkpointer;

    /// <summary>The connection of <see cref="ReadLogBatch"/> on a file database, and the lock it is used under.</summary>
    private readonly object _logReadGate = new();
    private SqliteConnection? _logReader;

    /// <summary>Creates a store; <see cref="InitializeAsync"/> opens it.</summary>
    /// <param name="options">The database and timeouts.</param>
    /// <param name="timeProvider">The clock of the times the store records (rows' <c>updated_at</c>, migrations); default the system clock.</param>
    /// <exception cref="ArgumentException">The connection string is missing or the timeout negative.</exception>
    public SqliteLeadStore(SqliteLeadStoreOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = timeProvider ?? TimeProvider.System;
        _options = options.Validated();
        var builder = new SqliteConnectionStringBuilder(_options.ConnectionString)
        {
            // One long-lived connection: a pool would only keep the file open after disposal.
            Pooling = false,
            DefaultTimeout = _options.CommandTimeoutSeconds,
        };
        _connectionString = builder.ToString();
        _privateDatabase = builder.DataSource is "" or ":memory:" || (builder.Mode == SqliteOpenMode.Memory && builder.Cache != SqliteCacheMode.Shared);
    }

    /// <summary>Called after each step of a commit, inside its transaction (tests inject failures with it).</summary>
    internal Action<string>? CommitStepHook { get; set; }

    /// <summary>Pages written to the log between two of its checkpoints; null: <see cref="CheckpointBytes"/> worth. Set before <see cref="InitializeAsync"/> (tests).</summary>
    internal long? CheckpointPages { get; set; }

    /// <summary>The log's checkpointer, once open on a file database (tests).</summary>
    internal WalCheckpointer? Checkpointer => _checkpointer;

    /// <summary>How many score history rows are appended before they are indexed by lead (<see cref="ScoreHistoryIndex"/>); set before <see cref="InitializeAsync"/> (tests).</summary>
    internal int HistoryMergeRows { get; set; } = ScoreHistoryIndex.DefaultMergeRows;

    /// <summary>Opens the database (creating the file), sets it up and creates or migrates its schema. Calling it again is a no-op.</summary>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is not null)
            {
                return;
            }

            var connection = new SqliteConnection(_connectionString);
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                Configure(connection);
                SqliteSchema.Migrate(connection, _time.GetUtcNow().UtcTicks);
                _commands = new CommitCommands(connection, HistoryMergeRows);
                if (_walMode)
                {
                    _checkpointer = new WalCheckpointer(
                        connection, _connectionString, _options.FlushEveryCommit ? "FULL" : "NORMAL", CheckpointPages ?? CheckpointBytes / PageSizeOf(connection));
                }
            }
            catch
            {
                _checkpointer?.Dispose();
                _checkpointer = null;
                _commands?.Dispose();
                _commands = null;
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            _connection = connection;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public ValueTask<string?> GetCheckpointAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        return ScalarAsync("SELECT checkpoint FROM checkpoints WHERE source = $key;", source, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<string?> GetModelVersionAsync(CancellationToken cancellationToken) =>
        ScalarAsync("SELECT value FROM meta WHERE key = $key;", ModelVersionKey, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<DateTimeOffset?> GetStageClockAsync(CancellationToken cancellationToken)
    {
        string? text = await ScalarAsync("SELECT value FROM meta WHERE key = $key;", StageClockKey, cancellationToken).ConfigureAwait(false);
        return text is null ? null : new DateTimeOffset(long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture), TimeSpan.Zero);
    }

    /// <inheritdoc />
    public async ValueTask<long> GetStatePositionAsync(CancellationToken cancellationToken)
    {
        string? text = await ScalarAsync("SELECT value FROM meta WHERE key = $key;", StatePositionKey, cancellationToken).ConfigureAwait(false);
        return text is null ? 0 : long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Every stored lead state, as committed. The journal column of older databases is read when it holds messages;
    /// the pipeline gives each lead its messages back from the message log.
    /// </summary>
    public IAsyncEnumerable<LeadSnapshot> LoadLeadsAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT lead_id, ids, state, base_state, journal FROM leads ORDER BY rowid;", ReadLead, cancellationToken);

    /// <summary>The logged batches after <paramref name="after"/>: one row of <c>message_log</c> each, its <c>seq</c> the position.</summary>
    public IAsyncEnumerable<(long Position, IReadOnlyList<LeadMessage> Messages)> ReadLogAsync(long after, CancellationToken cancellationToken) =>
        QueryAsync("SELECT seq, messages FROM message_log WHERE seq > $key ORDER BY seq;", after,
            r => (r.GetInt64(0), (IReadOnlyList<LeadMessage>)MessageJsonLines.Parse(r.GetString(1), $"message_log row {r.GetInt64(0)}")), cancellationToken);

    /// <summary>
    /// The messages of the <c>message_log</c> row whose <c>seq</c> is <paramref name="position"/>; null when there is none.
    /// Synchronous, as every SQLite call here: on a file database it reads on a connection of its own (opened on first
    /// need, kept), so it does not wait for a commit in progress (write-ahead logging lets it read the last committed
    /// state meanwhile); on a private in-memory database it takes its turn on the store's connection.
    /// </summary>
    public IReadOnlyList<LeadMessage>? ReadLogBatch(long position)
    {
        if (_privateDatabase)
        {
            _lock.Wait();
            try
            {
                return ReadLogRow(Open(), position);
            }
            finally
            {
                _lock.Release();
            }
        }

        lock (_logReadGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_logReader is null)
            {
                var reader = new SqliteConnection(_connectionString);
                reader.Open();
                _logReader = reader;
            }

            return ReadLogRow(_logReader, position);
        }
    }

    private static List<LeadMessage>? ReadLogRow(SqliteConnection connection, long position)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT messages FROM message_log WHERE seq = $seq;";
        command.Parameters.AddWithValue("$seq", position);
        return command.ExecuteScalar() is string lines ? MessageJsonLines.Parse(lines, $"message_log row {position}") : null;
    }

    /// <summary>
    /// Writes <paramref name="batch"/> in one transaction: stored leads are deleted first when
    /// <see cref="LeadStoreBatch.ReplaceAllLeads"/> is set, then <see cref="LeadStoreBatch.RemovedLeads"/> are deleted,
    /// then <see cref="LeadStoreBatch.Leads"/> inserted or replaced (so a lead both removed and written is kept), then the
    /// score history rewritten (<see cref="LeadStoreBatch.HistoryRenamed"/> moved, <see cref="LeadStoreBatch.HistoryReplacedFrom"/>
    /// deleted, <see cref="LeadStoreBatch.History"/> appended) and the current outcomes written, then the messages appended
    /// as one <c>message_log</c> row (and, for a state checkpoint, its position recorded), dead letters appended, the checkpoints set, and the model version
    /// and the stage clock's tick stored when given. When it returns, the batch survives the process being
    /// killed; when it throws, nothing of the batch was written.
    /// </summary>
    public async ValueTask CommitAsync(LeadStoreBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();

        // The JSON is made outside the lock (the message log's row while the transaction runs, below): reads are not held
        // up by it. Its buffers are reused by the next commit (a batch's message log is hundreds of kilobytes: no large
        // object per commit).
        var json = _json.TryTake(out var reused) ? reused : new BatchJson();
        json.Write(batch);
        // The message log's row, most of the JSON, is made on another thread meanwhile: the transaction writes the leads,
        // the score history and the outcomes first, then waits for it (about 6 % more messages/s into SQLite on the
        // canonical workload: benchmarks/README.md).
        var logJson = batch.Messages.Count == 0 ? Task.CompletedTask : Task.Run(() => json.WriteLog(batch));
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = Open();
            var c = _commands!;
            using var transaction = connection.BeginTransaction(deferred: false);
            c.Enlist(transaction);
            var history = c.History;
            history.Load();

            if (batch.ReplaceAllLeads)
            {
                c.DeleteAllLeads.ExecuteNonQuery();
                Step("replace-all");
            }

            foreach (string leadId in batch.RemovedLeads)
            {
                c.DeleteLead.Parameters[0].Value = leadId;
                c.DeleteLead.ExecuteNonQuery();
            }

            Step("removed-leads");
            long now = _time.GetUtcNow().UtcTicks;
            var upsert = c.UpsertLead;
            for (int i = 0; i < batch.Leads.Count; i++)
            {
                var lead = batch.Leads[i];
                upsert.Text(1, lead.LeadId);
                upsert.Text(2, json.LeadIds[i]);
                upsert.Blob(3, lead.State.Span);
                if (lead.BaseState is { IsEmpty: false } baseState)
                {
                    upsert.Blob(4, baseState.Span);
                }
                else
                {
                    upsert.Null(4);   // empty: no base, as LeadSnapshot.Create reads it
                }

                // The journal column ($journal) is '': journals are read back from the message log (see LoadLeadsAsync).
                upsert.Int64(5, now);
                upsert.Run();
            }

            Step("leads");
            foreach (var (from, to) in batch.HistoryRenamed)
            {
                history.Rename(from, to);
            }

            foreach (var (leadId, from) in batch.HistoryReplacedFrom)
            {
                history.DeleteFrom(leadId, from.UtcTicks);
            }

            history.InsertAll(batch.History, json.Scores);

            history.MergeIfDue();

            // The current outcomes, from the history rows just written (ILeadOutcomeStore).
            c.Outcomes.Apply(batch);
            Step("history");
            await logJson.ConfigureAwait(false);
            long logged = 0;
            if (json.HasMessages)
            {
                c.InsertMessages.Utf8(1, json.MessageLog);
                logged = c.InsertMessages.RunScalar();
            }

            if (batch.StateCheckpoint)
            {
                c.UpsertMeta.Parameters[0].Value = StatePositionKey;
                c.UpsertMeta.Parameters[1].Value = Convert.ToInt64(c.LogEnd.ExecuteScalar(), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
                c.UpsertMeta.ExecuteNonQuery();
            }

            Step("messages");
            var p = c.InsertDeadLetter.Parameters;
            foreach (var letter in batch.DeadLetters)
            {
                p[0].Value = Value(letter.Source);
                p[1].Value = Value(letter.Location);
                p[2].Value = Value(letter.Reason);
                p[3].Value = Value(letter.Raw);
                p[4].Value = letter.At.UtcTicks;
                c.InsertDeadLetter.ExecuteNonQuery();
            }

            Step("dead-letters");
            p = c.UpsertCheckpoint.Parameters;
            foreach (var (source, checkpoint) in batch.Checkpoints)
            {
                p[0].Value = source;
                p[1].Value = Value(checkpoint);
                c.UpsertCheckpoint.ExecuteNonQuery();
            }

            Step("checkpoints");
            if (batch.ModelVersion is not null)
            {
                c.UpsertMeta.Parameters[0].Value = ModelVersionKey;
                c.UpsertMeta.Parameters[1].Value = batch.ModelVersion;
                c.UpsertMeta.ExecuteNonQuery();
            }

            Step("model-version");
            if (batch.StageClock is { } tick)
            {
                c.UpsertMeta.Parameters[0].Value = StageClockKey;
                c.UpsertMeta.Parameters[1].Value = tick.UtcTicks.ToString(CultureInfo.InvariantCulture);
                c.UpsertMeta.ExecuteNonQuery();
            }

            Step("stage-clock");
            foreach (var n in batch.Notifications)
            {
                var op = c.UpsertOutbox.Parameters;
                op[0].Value = n.Key;
                op[1].Value = (int)n.Kind;
                op[2].Value = n.LeadId;
                op[3].Value = n.Payload;
                c.UpsertOutbox.ExecuteNonQuery();
            }

            Step("notifications");
            transaction.Commit();
            _checkpointer?.Committed();
            batch.LogPosition = logged;
        }
        catch
        {
            // Rolled back: the map of the history's tail may name rows that are not there, and the score names known to be
            // stored may miss some (a deletion of every outcome was rolled back).
            _commands?.History.Invalidate();
            _commands?.Outcomes.Invalidate();
            throw;
        }
        finally
        {
            _commands?.Enlist(null);
            _lock.Release();
            try
            {
                logJson.Wait();
            }
            catch (AggregateException)
            {
                // Thrown by the await above when it was reached; else the batch failed before it. Waited for either way:
                // the buffers are not reused while it writes.
            }

            if (json.Clear())
            {
                _json.Add(json);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<ScoreHistoryEntry>> GetHistoryAsync(string leadId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = Open();
            // One read transaction: the rows found by lead and the rows read are of one snapshot, whoever else writes.
            using var read = connection.BeginTransaction(deferred: true);
            var history = _commands!.History;
            history.Enlist(read);
            List<(long At, long Id)> rows;
            try
            {
                rows = history.Rows(leadId);
            }
            finally
            {
                history.Enlist(null);
            }

            rows.Sort();   // by time, then id (commit order)
            using var command = connection.CreateCommand();
            command.Transaction = read;
            command.CommandText = "SELECT lead_id, at, scores, grade, stage, model_version, message_id FROM score_history WHERE id = $id;";
            var id = command.Parameters.Add("$id", SqliteType.Integer);
            var entries = new List<ScoreHistoryEntry>(rows.Count);
            foreach (var (_, rowId) in rows)
            {
                id.Value = rowId;
                using var reader = command.ExecuteReader();
                if (!reader.Read())
                {
                    throw new InvalidOperationException($"score_history row {rowId} of lead '{leadId}' is indexed but missing.");
                }

                entries.Add(new ScoreHistoryEntry(
                    reader.GetString(0),
                    new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero),
                    StoreJson.ReadScores(reader.GetString(2)),
                    NullableString(reader, 3),
                    NullableString(reader, 4),
                    reader.GetString(5),
                    NullableString(reader, 6)));
            }

            return entries;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The leads with the highest <paramref name="score"/> in their current outcome, with it: an index read of <c>lead_outcome_score</c>.</summary>
    public ValueTask<IReadOnlyList<(string LeadId, double Value)>> TopAsync(string score, int count, CancellationToken cancellationToken) =>
        IdsAsync("SELECT lead_id, value FROM lead_outcome_score WHERE score_name = $key ORDER BY value DESC, lead_id LIMIT $count;", LeadOutcomes.ScoreQuery(score, count), count, cancellationToken);

    /// <summary>The leads whose current outcome is in <paramref name="stage"/>, by its first score, with it: an index read of <c>lead_outcome</c>.</summary>
    public ValueTask<IReadOnlyList<(string LeadId, double Value)>> InStageAsync(string stage, int count, CancellationToken cancellationToken) =>
        IdsAsync("SELECT lead_id, first_score FROM lead_outcome WHERE stage_key = $key ORDER BY first_score DESC, lead_id LIMIT $count;", LeadOutcomes.StageQuery(stage, count), count, cancellationToken);

    private async ValueTask<IReadOnlyList<(string LeadId, double Value)>> IdsAsync(string sql, string key, int count, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Open().CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$key", LeadScoring.PostgreSql.PgText.Encode(key));  // the outcome rows escape U+0000 (OutcomeWriter)
            command.Parameters.AddWithValue("$count", (long)count);
            using var reader = command.ExecuteReader();
            var ids = new List<(string LeadId, double Value)>();
            while (reader.Read())
            {
                ids.Add((LeadScoring.PostgreSql.PgText.Decode(reader.GetString(0)), reader.IsDBNull(1) ? double.NaN : reader.GetDouble(1)));
            }

            return ids;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The <paramref name="max"/> dead letters committed last, the last one first.</summary>
    public async ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Open().CreateCommand();
            command.CommandText = "SELECT source, location, reason, raw, at FROM dead_letters ORDER BY id DESC LIMIT $max;";
            command.Parameters.AddWithValue("$max", max);
            using var reader = command.ExecuteReader();
            var letters = new List<DeadLetter>();
            while (reader.Read())
            {
                letters.Add(new DeadLetter(
                    reader.GetString(0), reader.GetString(1), reader.GetString(2), NullableString(reader, 3), new DateTimeOffset(reader.GetInt64(4), TimeSpan.Zero)));
            }

            return letters;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<LeadNotification>> LoadPendingNotificationsAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Open().CreateCommand();
            command.CommandText = "SELECT key, kind, lead_id, payload FROM outbox ORDER BY seq;";
            using var reader = command.ExecuteReader();
            var pending = new List<LeadNotification>();
            while (reader.Read())
            {
                pending.Add(new LeadNotification(reader.GetString(0), (LeadNotificationKind)reader.GetInt32(1), reader.GetString(2), reader.GetString(3)));
            }

            return pending;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = Open();
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM outbox WHERE key = $key;";
            var key = command.Parameters.Add("$key", SqliteType.Text);
            foreach (var k in keys)
            {
                key.Value = k;
                command.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Closes the connection (waiting for a commit in progress). The write-ahead log is merged into the file.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            Close();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Closes the connection (waiting for a commit in progress).</summary>
    public void Dispose()
    {
        _lock.Wait();
        try
        {
            Close();
        }
        finally
        {
            _lock.Release();
        }
    }

    private void Close()
    {
        lock (_logReadGate)
        {
            _logReader?.Dispose();
            _logReader = null;
        }

        _disposed = true;
        _checkpointer?.Dispose();
        _checkpointer = null;
        _commands?.Dispose();
        _commands = null;
        _connection?.Dispose();
        _connection = null;
    }

    /// <summary>
    /// The page size of a database file the store creates: 16 KiB, not SQLite's 4 KiB. A commit writes each page it
    /// changed to the write-ahead log as a frame of its own, and a batch is mostly long rows (its message log) and rows
    /// appended in order (the score history), so with a quarter of the pages it makes a quarter of the writes: on the
    /// canonical workload the commit's own step took about half the CPU, and the pipeline ran 1.16–1.27× faster in a
    /// screen of two runs each (benchmarks/README.md, "SQLite's commit"). It only applies to a new file: SQLite keeps an
    /// existing database's page size.
    /// </summary>
    internal const int PageSize = 16_384;

    /// <summary>How many bytes of write-ahead log make SQLite checkpoint it into the database (64 MiB).</summary>
    internal const int CheckpointBytes = 64 << 20;

    private void Configure(SqliteConnection connection)
    {
        // Before anything is written, and before WAL (a database in WAL mode keeps its page size): ignored by a database
        // that has its tables already.
        Execute(connection, "PRAGMA page_size=" + PageSize.ToString(CultureInfo.InvariantCulture) + ";");

        // WAL: a commit appends to the log, readers keep reading a snapshot meanwhile. It returns the mode in force
        // ("memory" for an in-memory database, which has no log).
        string mode = Convert.ToString(Execute(connection, "PRAGMA journal_mode=WAL;"), CultureInfo.InvariantCulture) ?? "";
        if (!_privateDatabase && !mode.Equals("wal", StringComparison.OrdinalIgnoreCase) && !mode.Equals("memory", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"The lead store could not switch SQLite to write-ahead logging (journal mode: '{mode}').");
        }

        // In WAL mode a commit writes the transaction's pages and its commit record to the -wal file with write(2)
        // before COMMIT returns. Once written, they are in the operating system's cache, which outlives the process:
        // a committed batch survives the process being killed with synchronous=NORMAL. NORMAL skips only the fsync at
        // each commit, so a power loss or OS crash may roll back the last commits, never leaving a half batch (the log
        // is checksummed and replayed only up to its last complete commit). FULL also fsyncs each commit.
        Execute(connection, _options.FlushEveryCommit ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
        Execute(connection, "PRAGMA foreign_keys=ON;");
        // A 64 MiB page cache (the default is 2 MiB): the tables written per commit grow with every commit, and a merge
        // of the score history's tail (ScoreHistoryIndex) writes all over score_history_by_lead; with the default cache
        // most of their pages would be read back from the operating system.
        Execute(connection, "PRAGMA cache_size=-65536;");
        // Checkpoint the log every 64 MiB (4,096 pages of 16 KiB, 16,384 of an older file's 4 KiB) instead of every 1,000
        // pages: a batch rewrites the pages of the leads it changes, scattered over the table, and a checkpoint copies each
        // page once however many commits rewrote it. In WAL mode not here but on the checkpointer's thread (WalCheckpointer):
        // this connection checkpoints only the few pages committed while that thread's checkpoint ran.
        _walMode = mode.Equals("wal", StringComparison.OrdinalIgnoreCase);
        Execute(connection, "PRAGMA wal_autocheckpoint=" + (_walMode ? 0 : CheckpointBytes / PageSizeOf(connection)).ToString(CultureInfo.InvariantCulture) + ";");
        long busyMilliseconds = _options.CommandTimeoutSeconds == 0 ? int.MaxValue : Math.Min((long)_options.CommandTimeoutSeconds * 1000, int.MaxValue);
        Execute(connection, "PRAGMA busy_timeout=" + busyMilliseconds.ToString(CultureInfo.InvariantCulture) + ";");
    }

    private static long PageSizeOf(SqliteConnection connection) =>
        Math.Max(Convert.ToInt64(Execute(connection, "PRAGMA page_size;"), CultureInfo.InvariantCulture), 512);

    private static object? Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private SqliteConnection Open()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _connection ?? throw new InvalidOperationException("The lead store is not open: call InitializeAsync first.");
    }

    private void Step(string name) => CommitStepHook?.Invoke(name);

    private async ValueTask<string?> ScalarAsync(string sql, string key, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Open().CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$key", key);
            return command.ExecuteScalar() as string;
        }
        finally
        {
            _lock.Release();
        }
    }

    private IAsyncEnumerable<T> QueryAsync<T>(string sql, Func<SqliteDataReader, T> read, CancellationToken cancellationToken) =>
        QueryAsync(sql, null, read, cancellationToken);

    private async IAsyncEnumerable<T> QueryAsync<T>(string sql, object? key, Func<SqliteDataReader, T> read, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_privateDatabase)
        {
            // Another connection would see another database: read it all on the store's connection.
            var rows = new List<T>();
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                using var command = Open().CreateCommand();
                command.CommandText = sql;
                if (key is not null)
                {
                    command.Parameters.AddWithValue("$key", key);
                }

                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    rows.Add(read(reader));
                }
            }
            finally
            {
                _lock.Release();
            }

            foreach (var row in rows)
            {
                yield return row;
            }

            yield break;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Open();
        }
        finally
        {
            _lock.Release();
        }

        // Its own connection: one read transaction (a snapshot) while commits go on, and no lock held between rows.
        var readConnection = new SqliteConnection(_connectionString);
        await using (readConnection.ConfigureAwait(false))
        {
            await readConnection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var command = readConnection.CreateCommand();
            command.CommandText = sql;
                if (key is not null)
                {
                    command.Parameters.AddWithValue("$key", key);
                }

            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    yield return read(reader);
                }
            }
        }
    }

    private static LeadSnapshot ReadLead(SqliteDataReader reader)
    {
        string leadId = reader.GetString(0);
        var ids = StoreJson.ReadIds(reader.GetString(1));
        byte[] state = reader.GetFieldValue<byte[]>(2);
        byte[]? baseState = reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3);
        var messages = MessageJsonLines.Parse(reader.GetString(4), $"the journal of lead '{leadId}'");

        return LeadSnapshot.Create(leadId, ids, state, baseState is null ? null : (ReadOnlyMemory<byte>?)baseState, messages);
    }

    private static object Value(string? text) => (object?)text ?? DBNull.Value;

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>The prepared commands of a commit, made once per connection and reused.</summary>
    private sealed class CommitCommands : IDisposable
    {
        public CommitCommands(SqliteConnection connection, int historyMergeRows)
        {
            DeleteAllLeads = Prepare(connection, "DELETE FROM leads;");
            DeleteLead = Prepare(connection, "DELETE FROM leads WHERE lead_id = $lead_id;", "$lead_id");
            // The rows written per lead and per message: bound straight into SQLite (RawStatement), by the order their
            // parameters first appear in.
            UpsertLead = new RawStatement(connection, """
                INSERT INTO leads (lead_id, ids, state, base_state, journal, updated_at)
                VALUES ($lead_id, $ids, $state, $base_state, '', $updated_at)
                ON CONFLICT (lead_id) DO UPDATE SET
                    ids = excluded.ids, state = excluded.state, base_state = excluded.base_state,
                    journal = excluded.journal, updated_at = excluded.updated_at;
                """);
            InsertMessages = new RawStatement(connection, "INSERT INTO message_log (messages) VALUES ($messages) RETURNING seq;");
            LogEnd = Prepare(connection, "SELECT COALESCE(MAX(seq), 0) FROM message_log;");
            History = new ScoreHistoryIndex(connection, historyMergeRows);
            InsertDeadLetter = Prepare(connection, """
                INSERT INTO dead_letters (source, location, reason, raw, at) VALUES ($source, $location, $reason, $raw, $at);
                """, "$source", "$location", "$reason", "$raw", "$at");
            UpsertCheckpoint = Prepare(connection, """
                INSERT INTO checkpoints (source, checkpoint) VALUES ($source, $checkpoint)
                ON CONFLICT (source) DO UPDATE SET checkpoint = excluded.checkpoint;
                """, "$source", "$checkpoint");
            UpsertMeta = Prepare(connection, """
                INSERT INTO meta (key, value) VALUES ($key, $value)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                """, "$key", "$value");
            UpsertOutbox = Prepare(connection, """
                INSERT INTO outbox (key, kind, lead_id, payload) VALUES ($key, $kind, $lead_id, $payload)
                ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, lead_id = excluded.lead_id, payload = excluded.payload;
                """, "$key", "$kind", "$lead_id", "$payload");
            Outcomes = new OutcomeWriter(connection);
        }

        /// <summary>The current outcomes' commands (written from the batch's history rows).</summary>
        public OutcomeWriter Outcomes { get; }

        public SqliteCommand UpsertOutbox { get; } = null!;

        public SqliteCommand DeleteAllLeads { get; }

        public SqliteCommand DeleteLead { get; }

        public RawStatement UpsertLead { get; }

        public RawStatement InsertMessages { get; }

        public SqliteCommand LogEnd { get; }

        /// <summary>The score history's rows, written and found by lead (schema 6).</summary>
        public ScoreHistoryIndex History { get; }

        public SqliteCommand InsertDeadLetter { get; }

        public SqliteCommand UpsertCheckpoint { get; }

        public SqliteCommand UpsertMeta { get; }

        private IEnumerable<SqliteCommand> All =>
            [DeleteAllLeads, DeleteLead, LogEnd, InsertDeadLetter, UpsertCheckpoint, UpsertMeta, UpsertOutbox];

        public void Enlist(SqliteTransaction? transaction)
        {
            foreach (var command in All)
            {
                command.Transaction = transaction;
            }

            Outcomes.Enlist(transaction);
            History.Enlist(transaction);
        }

        public void Dispose()
        {
            foreach (var command in All)
            {
                command.Dispose();
            }

            UpsertLead.Dispose();
            InsertMessages.Dispose();
            History.Dispose();
            Outcomes.Dispose();
        }

        private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters) =>
            OutcomeWriter.Prepare(connection, null, sql, parameters);
    }

    /// <summary>
    /// The text columns of a batch (the lead ids and scores before its transaction, the message log row while it runs),
    /// as UTF-8 in buffers kept from commit to commit (the
    /// store keeps the instances it is done with): the message log row and the history rows' scores are bound from
    /// them without a string each.
    /// </summary>
    private sealed class BatchJson
    {
        private readonly MessageJsonLines _log = new();
        private readonly ArrayBufferWriter<byte> _scores = new(16 * 1024);
        private readonly List<int> _scoreEnds = [];
        private readonly StoreJson _json = new();

        /// <summary>Writes the columns of <paramref name="batch"/>.</summary>
        public void Write(LeadStoreBatch batch)
        {
            LeadIds = new string[batch.Leads.Count];
            for (int i = 0; i < batch.Leads.Count; i++)
            {
                LeadIds[i] = _json.Ids(batch.Leads[i].Ids);
            }

            for (int i = 0; i < batch.History.Count; i++)
            {
                _json.Scores(batch.History[i].Scores, _scores);
                _scoreEnds.Add(_scores.WrittenCount);
            }
        }

        /// <summary>Writes every message of <paramref name="batch"/> as a JSON line into one UTF-8 buffer: the row of message_log.</summary>
        public void WriteLog(LeadStoreBatch batch) => _log.Write(batch.Messages);

        public string[] LeadIds { get; private set; } = [];

        /// <summary>Whether the batch has counted messages (a row of <c>message_log</c>).</summary>
        public bool HasMessages => _log.Count > 0;

        /// <summary>The batch's counted messages as JSON Lines (one row of <c>message_log</c>).</summary>
        public ReadOnlySpan<byte> MessageLog => _log.Lines;

        /// <summary>The scores of the batch's history entry <paramref name="index"/>, as a JSON object.</summary>
        public ReadOnlySpan<byte> Scores(int index)
        {
            int start = index == 0 ? 0 : _scoreEnds[index - 1];
            return _scores.WrittenSpan[start.._scoreEnds[index]];
        }

        /// <summary>Empties the buffers for the next commit; false when they grew past 4 MiB (a large batch's are not kept).</summary>
        public bool Clear()
        {
            bool keep = _log.Clear();
            _scores.ResetWrittenCount();
            _scoreEnds.Clear();
            LeadIds = [];
            return keep && _scores.Capacity <= 4 << 20;
        }
    }
}
