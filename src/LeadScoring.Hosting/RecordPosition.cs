namespace LeadScoring.Hosting;

/// <summary>
/// How a source writes out a record's checkpoint and location from the record's numbers (its offset after it, its line,
/// whether that line lacked a line break), when they are read: one object per file read, not two strings per record.
/// </summary>
internal abstract class RecordPosition
{
    /// <summary>The checkpoint just after the record.</summary>
    public abstract string Checkpoint(long offset, long line, bool unterminated);

    /// <summary>Where the record is, in plain words.</summary>
    public abstract string Location(long line);
}
