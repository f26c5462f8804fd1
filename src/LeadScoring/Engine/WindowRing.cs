namespace LeadScoring.Engine;

/// <summary>
/// A limit window's award times (or an <c>after</c> rule's occurrence times): the last <c>size</c> of them, in a ring
/// that grows with use. While fewer than <c>size</c> were written, times are appended (the array doubles, from 4, up
/// to <c>size</c>); then the oldest is overwritten. A lead that never reaches a rule's count never holds
/// <c>long[count]</c>. The one implementation of a window's storage: lead states, per-value windows and their codec use it.
/// </summary>
internal static class WindowRing
{
    /// <summary>Records <paramref name="ticks"/> as the newest time; <paramref name="written"/> counts the times written (saturating).</summary>
    public static void Push(ref long[]? ring, int size, ref int written, long ticks)
    {
        int at = written < size ? written : written % size;
        if (ring is null || at >= ring.Length)
        {
            int length = Math.Min(size, Math.Max(at + 1, Math.Max(4, (ring?.Length ?? 0) * 2)));
            Array.Resize(ref ring, length);
        }

        ring[at] = ticks;
        written = written == int.MaxValue ? size : written + 1;
    }

    /// <summary>The oldest of the last <paramref name="size"/> times, or <see cref="long.MinValue"/> when fewer were written.</summary>
    public static long OldestOfFull(long[]? ring, int size, int written) =>
        written < size ? long.MinValue : ring![written % size];

    /// <summary>How many times the ring holds: the first <c>Held</c> places of its array are in use.</summary>
    public static int Held(int size, int written) => Math.Min(size, written);

    /// <summary>Makes <paramref name="ring"/> hold <paramref name="count"/> places (a copy or a decode), growing it if needed.</summary>
    public static Span<long> Room(ref long[]? ring, int size, int count)
    {
        if (count == 0)
        {
            return [];
        }

        if (ring is null || ring.Length < count)
        {
            Array.Resize(ref ring, Math.Min(size, Math.Max(count, 4)));
        }

        return ring.AsSpan(0, count);
    }
}
