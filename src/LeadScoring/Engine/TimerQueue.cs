namespace LeadScoring.Engine;

/// <summary>
/// Leads waiting for an instant (a stage-clock tick, an expiry): row ids indexed by their due time in ticks.
/// An indexed binary min-heap ordered by <c>(due, row)</c>, with each row's heap position kept beside it, so
/// <see cref="Schedule"/>, <see cref="Reschedule"/> and <see cref="Remove"/> are O(log n) and
/// <see cref="PopDue(long, Span{int})"/> is O(log n) per row popped and touches no row that is not due.
/// A row is scheduled at most once. Arrays grow by doubling and never shrink, so once they fit the leads,
/// nothing allocates. Not thread-safe.
/// </summary>
internal sealed class TimerQueue
{
    private int[] _rows;
    private long[] _due;

    /// <summary>Per row id: its heap index + 1; 0 where the row is not scheduled.</summary>
    private int[] _slot;
    private int _count;

    /// <summary>Creates an empty queue with room for <paramref name="capacity"/> rows (ids below it) before growing.</summary>
    public TimerQueue(int capacity = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        capacity = Math.Max(capacity, 4);
        _rows = new int[capacity];
        _due = new long[capacity];
        _slot = new int[capacity];
    }

    /// <summary>Bytes of the queue's arrays (for the benchmarks' timer memory per lead).</summary>
    public long Bytes => (_rows.Length * 4L) + (_due.Length * 8L) + (_slot.Length * 4L);

    /// <summary>How many rows are scheduled.</summary>
    public int Count => _count;

    /// <summary>The earliest due time, or <see cref="long.MaxValue"/> when nothing is scheduled.</summary>
    public long NextDue => _count == 0 ? long.MaxValue : _due[0];

    /// <summary>Whether <paramref name="row"/> is scheduled.</summary>
    public bool Contains(int row) => (uint)row < (uint)_slot.Length && _slot[row] != 0;

    /// <summary>The due time of <paramref name="row"/>, if it is scheduled.</summary>
    public bool TryGetDue(int row, out long due)
    {
        if (Contains(row))
        {
            due = _due[_slot[row] - 1];
            return true;
        }

        due = 0;
        return false;
    }

    /// <summary>Schedules <paramref name="row"/> at <paramref name="due"/>; a row already scheduled is moved there.</summary>
    public void Schedule(int row, long due)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        if (Reschedule(row, due))
        {
            return;
        }

        if (row >= _slot.Length)
        {
            Array.Resize(ref _slot, Math.Max(row + 1, _slot.Length * 2));
        }

        if (_count == _rows.Length)
        {
            Array.Resize(ref _rows, _rows.Length * 2);
            Array.Resize(ref _due, _due.Length * 2);
        }

        int i = _count++;
        _rows[i] = row;
        _due[i] = due;
        _slot[row] = i + 1;
        Up(i);
    }

    /// <summary>Moves a scheduled <paramref name="row"/> to <paramref name="due"/>; false (and nothing done) when it is not scheduled.</summary>
    public bool Reschedule(int row, long due)
    {
        if (!Contains(row))
        {
            return false;
        }

        int i = _slot[row] - 1;
        long old = _due[i];
        _due[i] = due;
        if (due < old)
        {
            Up(i);
        }
        else if (due > old)
        {
            Down(i);
        }

        return true;
    }

    /// <summary>Unschedules <paramref name="row"/>; false when it was not scheduled.</summary>
    public bool Remove(int row)
    {
        if (!Contains(row))
        {
            return false;
        }

        RemoveAt(_slot[row] - 1);
        return true;
    }

    /// <summary>
    /// Removes and writes to <paramref name="destination"/> the rows due at or before <paramref name="now"/>, earliest
    /// first (ties by row id), as many as it holds; returns how many. Rows not yet due are not touched.
    /// </summary>
    public int PopDue(long now, Span<int> destination)
    {
        int n = 0;
        while (n < destination.Length && _count > 0 && _due[0] <= now)
        {
            destination[n++] = _rows[0];
            RemoveAt(0);
        }

        return n;
    }

    /// <summary>Removes every row due at or before <paramref name="now"/> and appends it to <paramref name="destination"/>, earliest first; returns how many.</summary>
    public int PopDue(long now, List<int> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        int n = 0;
        while (_count > 0 && _due[0] <= now)
        {
            destination.Add(_rows[0]);
            RemoveAt(0);
            n++;
        }

        return n;
    }

    /// <summary>Unschedules every row.</summary>
    public void Clear()
    {
        for (int i = 0; i < _count; i++)
        {
            _slot[_rows[i]] = 0;
        }

        _count = 0;
    }

    private void RemoveAt(int i)
    {
        _slot[_rows[i]] = 0;
        int last = --_count;
        if (i == last)
        {
            return;
        }

        _rows[i] = _rows[last];
        _due[i] = _due[last];
        _slot[_rows[i]] = i + 1;
        if (i > 0 && Less(i, (i - 1) / 2))
        {
            Up(i);
        }
        else
        {
            Down(i);
        }
    }

    private bool Less(int a, int b) => _due[a] < _due[b] || (_due[a] == _due[b] && _rows[a] < _rows[b]);

    private void Up(int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Less(i, parent))
            {
                break;
            }

            Swap(i, parent);
            i = parent;
        }
    }

    private void Down(int i)
    {
        while (true)
        {
            int left = (2 * i) + 1;
            if (left >= _count)
            {
                return;
            }

            int child = left + 1 < _count && Less(left + 1, left) ? left + 1 : left;
            if (!Less(child, i))
            {
                return;
            }

            Swap(i, child);
            i = child;
        }
    }

    private void Swap(int a, int b)
    {
        (_rows[a], _rows[b]) = (_rows[b], _rows[a]);
        (_due[a], _due[b]) = (_due[b], _due[a]);
        _slot[_rows[a]] = a + 1;
        _slot[_rows[b]] = b + 1;
    }
}
