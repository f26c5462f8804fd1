using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace LeadScoring.Sqlite;

/// <summary>
/// A statement prepared once on the store's connection and run for many rows by binding values straight into SQLite:
/// no parameter objects, boxed values, binders or data reader per row, as <see cref="SqliteCommand"/> makes for each
/// execution (about 760 bytes per history row of the 2,167 a commit allocated per message and row). Used for the rows a commit writes per message or per lead; it runs
/// inside whatever transaction the connection has open (the commit's, a migration's). Not thread-safe: the store uses
/// it under its lock.
/// </summary>
internal sealed class RawStatement : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;

    /// <summary>
    /// Prepares <paramref name="sql"/> (one statement). Values are bound by index from 1: a named parameter's index is
    /// the order in which it first appears in the statement.
    /// </summary>
    public RawStatement(SqliteConnection connection, string sql)
    {
        _connection = connection;
        int rc = raw.sqlite3_prepare_v2(connection.Handle, sql, out _statement);
        SqliteException.ThrowExceptionForRC(rc, connection.Handle);
    }

    /// <summary>
    /// The <c>VALUES</c> list of a multi-row insert: <paramref name="rows"/> rows of <paramref name="columns"/> numbered
    /// parameters each, "(?1, ?2), (?3, ?4)", row after row, so that row <c>r</c>'s column <c>c</c> (from 1) is parameter
    /// <c>r * columns + c</c>.
    /// </summary>
    public static string Values(int rows, int columns) =>
        string.Join(", ", Enumerable.Range(0, rows).Select(row =>
            "(" + string.Join(", ", Enumerable.Range(1, columns).Select(column => "?" + ((row * columns) + column).ToString(System.Globalization.CultureInfo.InvariantCulture))) + ")"));

    /// <summary>Binds text (UTF-16, as .NET holds it: SQLite converts it), or NULL for null, to parameter <paramref name="index"/> (from 1).</summary>
    public void Text(int index, string? value) =>
        Check(value is null ? raw.sqlite3_bind_null(_statement, index) : raw.sqlite3_bind_text16(_statement, index, value));

    /// <summary>Binds UTF-8 text (not empty) to parameter <paramref name="index"/>; SQLite copies it.</summary>
    public void Utf8(int index, ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            throw new ArgumentException("Empty UTF-8 text would be bound as NULL.", nameof(value));
        }

        Check(raw.sqlite3_bind_text(_statement, index, value));
    }

    /// <summary>Binds a blob (an empty one as a zero-length blob, not NULL) to parameter <paramref name="index"/>.</summary>
    public void Blob(int index, ReadOnlySpan<byte> value) =>
        Check(value.IsEmpty ? raw.sqlite3_bind_zeroblob(_statement, index, 0) : raw.sqlite3_bind_blob(_statement, index, value));

    /// <summary>Binds an integer to parameter <paramref name="index"/>.</summary>
    public void Int64(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    /// <summary>Binds a real, or NULL for null, to parameter <paramref name="index"/>.</summary>
    public void Double(int index, double? value) =>
        Check(value is { } v ? raw.sqlite3_bind_double(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

    /// <summary>Binds NULL to parameter <paramref name="index"/>.</summary>
    public void Null(int index) => Check(raw.sqlite3_bind_null(_statement, index));

    /// <summary>Runs the statement to its end and resets it for the next row (its values stay bound).</summary>
    public void Run()
    {
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(_statement)) == raw.SQLITE_ROW)
            {
            }

            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
            }
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Runs a statement that returns one integer (<c>RETURNING</c>) to its end, resets it, and returns that integer.</summary>
    public long RunScalar()
    {
        try
        {
            int rc = raw.sqlite3_step(_statement);
            if (rc != raw.SQLITE_ROW)
            {
                SqliteException.ThrowExceptionForRC(rc == raw.SQLITE_DONE ? raw.SQLITE_MISUSE : rc, _connection.Handle);
            }

            long value = raw.sqlite3_column_int64(_statement, 0);
            while ((rc = raw.sqlite3_step(_statement)) == raw.SQLITE_ROW)
            {
            }

            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
            }

            return value;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Finalizes the statement (before the connection closes).</summary>
    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
        }
    }
}
