using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace LeadScoring.Engine;

/// <summary>
/// Prefetch hints: asks the processor to start bringing a cache line into its caches and goes on without waiting, so
/// the misses of the next leads' rows overlap the work on the current one (<see cref="LeadScoringEngine.Apply(ReadOnlySpan{LeadScoring.Messages.LeadMessage}, Span{ApplyOutcome})"/>).
/// The only unsafe code of the library: a prefetch reads nothing and never faults, so an address the garbage
/// collector has since moved only wastes the hint. A no-op where .NET exposes no prefetch instruction (non-x86).
/// </summary>
internal static unsafe class MemoryHint
{
    /// <summary>The cache line size assumed (x86: 64 bytes).</summary>
    public const int Line = 64;

    /// <summary>Starts fetching the cache line that holds <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch<T>(ref T value)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref value));
        }
    }

    /// <summary>Starts fetching the first cache line of an object (its header and first fields); nothing when null. The object is not read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(object? value)
    {
        if (Sse.IsSupported && value is not null)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.As<RawData>(value).Data));
        }
    }

    /// <summary>Starts fetching the cache line <paramref name="offset"/> bytes past an object's first field (an object whose fields span two lines); nothing when null. The object is not read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(object? value, int offset)
    {
        if (Sse.IsSupported && value is not null)
        {
            Sse.Prefetch0((byte*)Unsafe.AsPointer(ref Unsafe.As<RawData>(value).Data) + offset);
        }
    }

    /// <summary>Starts fetching every cache line of <paramref name="count"/> elements from <paramref name="first"/> on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch<T>(ref T first, int count)
    {
        if (Sse.IsSupported && count > 0)
        {
            byte* start = (byte*)Unsafe.AsPointer(ref first);
            byte* last = start + ((long)count * Unsafe.SizeOf<T>()) - 1;
            for (byte* p = start; p <= last; p += Line)
            {
                Sse.Prefetch0(p);
            }

            // The last line, when the steps from an unaligned start passed over its beginning.
            Sse.Prefetch0(last);
        }
    }

    /// <summary>How many bytes <paramref name="value"/> lies past the start of its cache line (0: it starts one). For memory that does not move (pinned).</summary>
    public static int BytesToLine<T>(ref T value) => (int)((nuint)Unsafe.AsPointer(ref value) & (Line - 1));

    /// <summary>Any object seen as its first field's address, to name where it is without reading it.</summary>
    private sealed class RawData
    {
#pragma warning disable CS0649 // never assigned: only its address is taken
        public byte Data;
#pragma warning restore CS0649
    }
}
