using System.Text;
using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// The binary form of a <see cref="LeadState"/> (format version 1): a header with the format version and the
/// model layout it belongs to, then every field, integers as 7-bit varints and timestamps as deltas. A state is
/// only meaningful for a model with the same layout (event rules, windows, <c>occurred</c> names); decoding it
/// under another model fails with <see cref="InvalidDataException"/>, and the host re-scores from the journal.
/// </summary>
internal static class LeadStateCodec
{
    private const byte Magic0 = (byte)'L', Magic1 = (byte)'S';
    public const byte Version = 2;

    /// <summary>
    /// This thread's writer over a growable buffer, reused by every encode (the reorder horizon encodes a lead's base
    /// state at each fold): an encode then allocates only the array it returns.
    /// </summary>
    [ThreadStatic]
    private static BinaryWriter? t_writer;

    public static byte[] Encode(LeadState s, CompiledModel model)
    {
        var w = t_writer ??= new BinaryWriter(new MemoryStream(256), Encoding.UTF8);
        var buffer = (MemoryStream)w.BaseStream;
        buffer.SetLength(0);
        w.Write(Magic0);
        w.Write(Magic1);
        w.Write(Version);
        w.Write(LayoutHash(model));
        w.Write(s.LastTicks);
        OptionalString(w, s.LastMessageId);
        OptionalString(w, s.UserId);
        w.Write(s.UserIdTicks);
        OptionalString(w, s.UserIdMessageId);
        OptionalString(w, s.AnonymousId);
        OptionalString(w, s.GroupId);
        w.Write7BitEncodedInt(s.Stage);
        w.Write7BitEncodedInt(s.MessageCount);
        w.Write(s.FirstTicks);

        w.Write7BitEncodedInt(s.Traits?.Count ?? 0);
        foreach (var (k, v) in s.Traits ?? [])
        {
            w.Write(k);
            WriteValue(w, v);
        }

        foreach (int c in s.Counts)
        {
            w.Write7BitEncodedInt(c);
        }

        foreach (int c in s.RingWritten)
        {
            w.Write7BitEncodedInt(c);
        }

        Rings(w, s, model);
        Ticks(w, s.OccurredLast);
        for (int e = 0; e < (s.AwardTimes?.Length ?? 0); e++)
        {
            var list = s.AwardTimes![e];
            w.Write7BitEncodedInt(list?.Count ?? 0);
            long previous = 0;
            foreach (long t in list ?? [])
            {
                w.Write7BitEncodedInt64(t - previous);
                previous = t;
            }
        }

        for (int e = 0; e < (s.PerValue?.Length ?? 0); e++)
        {
            var windows = s.PerValue![e];
            w.Write7BitEncodedInt(windows?.Count ?? 0);
            foreach (var (k, pw) in windows ?? [])
            {
                w.Write(k);
                w.Write7BitEncodedInt(pw.Awards);
                w.Write7BitEncodedInt(pw.Written);
                Ticks(w, pw.Ring ?? []);
            }
        }

        w.Write7BitEncodedInt(s.History?.Count ?? 0);
        foreach (var move in s.History ?? [])
        {
            w.Write7BitEncodedInt(Array.IndexOf(model.StageNames, move.From));
            w.Write7BitEncodedInt(Array.IndexOf(model.StageNames, move.To));
            w.Write(move.At.UtcTicks);
        }

        w.Flush();
        var bytes = buffer.ToArray();
        if (buffer.Capacity > MaxKeptBuffer)
        {
            t_writer = null; // a rare large state (many traits): its buffer is not kept for the thread's life
        }

        return bytes;
    }

    /// <summary>The largest buffer <see cref="t_writer"/> keeps between encodes (64 KiB).</summary>
    private const int MaxKeptBuffer = 64 * 1024;

    public static LeadState Decode(ReadOnlySpan<byte> bytes, CompiledModel model)
    {
        using var stream = new MemoryStream(bytes.ToArray(), writable: false);
        using var r = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            if (r.ReadByte() != Magic0 || r.ReadByte() != Magic1)
            {
                throw new InvalidDataException("not a LeadScoring lead state");
            }

            byte version = r.ReadByte();
            if (version != Version)
            {
                throw new InvalidDataException($"lead state format version {version} is not supported (this library reads version {Version})");
            }

            if (r.ReadInt64() != LayoutHash(model))
            {
                throw new InvalidDataException($"the lead state was written for a model with another layout than {model.Model}; re-score the lead from its journal");
            }

            var s = new LeadState(model)
            {
                LastTicks = r.ReadInt64(),
                LastMessageId = OptionalString(r),
                UserId = OptionalString(r),
                UserIdTicks = r.ReadInt64(),
                UserIdMessageId = OptionalString(r),
                AnonymousId = OptionalString(r),
                GroupId = OptionalString(r),
                Stage = r.Read7BitEncodedInt(),
                MessageCount = r.Read7BitEncodedInt(),
                FirstTicks = r.ReadInt64(),
            };
            int traits = r.Read7BitEncodedInt();
            if (traits > 0)
            {
                s.Traits = new Dictionary<string, DataValue>(traits, StringComparer.Ordinal);
                for (int i = 0; i < traits; i++)
                {
                    string key = r.ReadString();
                    s.Traits[key] = ReadValue(r, 0);
                }
            }

            for (int i = 0; i < s.Counts.Length; i++)
            {
                s.Counts[i] = r.Read7BitEncodedInt();
            }

            for (int i = 0; i < s.RingWritten.Length; i++)
            {
                if ((s.RingWritten[i] = r.Read7BitEncodedInt()) < 0)
                {
                    throw new InvalidDataException("a window's count is negative");
                }
            }

            Rings(r, s, model);
            Ticks(r, s.OccurredLast);
            for (int e = 0; e < (s.AwardTimes?.Length ?? 0); e++)
            {
                int n = r.Read7BitEncodedInt();
                if (n > 0)
                {
                    var list = s.AwardTimes![e] = new List<long>(n);
                    long previous = 0;
                    for (int i = 0; i < n; i++)
                    {
                        previous += r.Read7BitEncodedInt64();
                        list.Add(previous);
                    }
                }
            }

            for (int e = 0; e < (s.PerValue?.Length ?? 0); e++)
            {
                int n = r.Read7BitEncodedInt();
                if (n > 0)
                {
                    var dict = s.PerValue![e] = new Dictionary<string, PerValueWindow>(n, StringComparer.OrdinalIgnoreCase);
                    for (int i = 0; i < n; i++)
                    {
                        string key = r.ReadString();
                        var w = new PerValueWindow { Awards = r.Read7BitEncodedInt(), Written = r.Read7BitEncodedInt() };
                        var ring = new long[r.Read7BitEncodedInt()];
                        Ticks(r, ring, lengthRead: true);
                        w.Ring = ring.Length == 0 ? null : ring;
                        dict[key] = w;
                    }
                }
            }

            int moves = r.Read7BitEncodedInt();
            if (moves > 0)
            {
                s.History = new List<StageMove>(moves);
                for (int i = 0; i < moves; i++)
                {
                    string from = model.StageNames[r.Read7BitEncodedInt()];
                    string to = model.StageNames[r.Read7BitEncodedInt()];
                    s.History.Add(new StageMove(from, to, new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero)));
                }
            }

            if (stream.Position != stream.Length)
            {
                throw new InvalidDataException("unexpected bytes after the lead state");
            }

            return s;
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException or IndexOutOfRangeException or ArgumentException)
        {
            throw new InvalidDataException("the lead state is damaged: " + ex.Message, ex);
        }
    }

    /// <summary>The layout hash of each model, computed once (it was computed on every encode and decode).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<CompiledModel, object> Layouts = new();

    /// <summary>What a state's shape depends on: the model's version and its per-lead layout.</summary>
    internal static long LayoutHash(CompiledModel model) => (long)Layouts.GetValue(model, static m => ComputeLayoutHash(m));

    private static long ComputeLayoutHash(CompiledModel model)
    {
        ulong h = 14695981039346656037;
        void Mix(string s)
        {
            foreach (char c in s)
            {
                h = (h ^ c) * 1099511628211;
            }

            h = (h ^ 0xFF) * 1099511628211;
        }

        Mix(model.Model.Name);
        Mix(model.Model.Version);
        foreach (var rule in model.Rules)
        {
            Mix(rule.Definition.Id);
            Mix(rule.EventIndex + ":" + rule.LimitRing + ":" + rule.AfterRing + ":" + rule.KeepsAwardTimes);
        }

        foreach (var name in model.OccurredNames.Concat(model.StageNames))
        {
            Mix(name);
        }

        return (long)h;
    }

    private static void OptionalString(BinaryWriter w, string? s)
    {
        w.Write(s is not null);
        if (s is not null)
        {
            w.Write(s);
        }
    }

    private static string? OptionalString(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    /// <summary>
    /// The windows' times as one run of <see cref="CompiledModel.RingSlots"/> values in the model's layout (places not
    /// yet written are 0), as format 1 wrote its flat array; decoding keeps only the places in use.
    /// </summary>
    private static void Rings(BinaryWriter w, LeadState s, CompiledModel model)
    {
        w.Write7BitEncodedInt(model.RingSlots);
        long previous = 0;
        for (int ring = 0; ring < s.Rings.Length; ring++)
        {
            int size = model.RingSizes[ring];
            int held = WindowRing.Held(size, s.RingWritten[ring]);
            for (int i = 0; i < size; i++)
            {
                long v = i < held ? s.Rings[ring]![i] : 0;
                w.Write7BitEncodedInt64(v - previous);
                previous = v;
            }
        }
    }

    private static void Rings(BinaryReader r, LeadState s, CompiledModel model)
    {
        if (r.Read7BitEncodedInt() != model.RingSlots)
        {
            throw new InvalidDataException("a window has another size than the model's");
        }

        long previous = 0;
        for (int ring = 0; ring < s.Rings.Length; ring++)
        {
            int size = model.RingSizes[ring];
            int held = WindowRing.Held(size, s.RingWritten[ring]);
            var places = WindowRing.Room(ref s.Rings[ring], size, held);
            for (int i = 0; i < size; i++)
            {
                previous += r.Read7BitEncodedInt64();
                if (i < held)
                {
                    places[i] = previous;
                }
            }
        }
    }

    private static void Ticks(BinaryWriter w, long[] values)
    {
        w.Write7BitEncodedInt(values.Length);
        long previous = 0;
        foreach (long v in values)
        {
            w.Write7BitEncodedInt64(v - previous);
            previous = v;
        }
    }

    private static void Ticks(BinaryReader r, long[] target, bool lengthRead = false)
    {
        int n = lengthRead ? target.Length : r.Read7BitEncodedInt();
        if (n != target.Length)
        {
            throw new InvalidDataException("a window has another size than the model's");
        }

        long previous = 0;
        for (int i = 0; i < n; i++)
        {
            previous += r.Read7BitEncodedInt64();
            target[i] = previous;
        }
    }

    private static void WriteValue(BinaryWriter w, DataValue v)
    {
        w.Write((byte)v.Kind);
        switch (v.Kind)
        {
            case DataKind.String:
            case DataKind.Number:
                w.Write(v.Text ?? "");
                break;
            case DataKind.Object:
                w.Write7BitEncodedInt(v.Keys!.Length);
                for (int i = 0; i < v.Keys.Length; i++)
                {
                    w.Write(v.Keys[i]);
                    WriteValue(w, v.Values![i]);
                }

                break;
            case DataKind.Array:
                w.Write7BitEncodedInt(v.Items!.Length);
                foreach (var item in v.Items)
                {
                    WriteValue(w, item);
                }

                break;
        }
    }

    private static DataValue ReadValue(BinaryReader r, int depth)
    {
        if (depth > 64)
        {
            throw new InvalidDataException("a trait is nested too deeply");
        }

        var kind = (DataKind)r.ReadByte();
        switch (kind)
        {
            case DataKind.String:
                return DataValue.FromString(r.ReadString());
            case DataKind.Number:
                string text = r.ReadString();
                return DataValue.FromNumber(DataValue.ParseNumber(text), text);
            case DataKind.True:
                return DataValue.True;
            case DataKind.False:
                return DataValue.False;
            case DataKind.Null:
                return DataValue.Null;
            case DataKind.Object:
                int n = r.Read7BitEncodedInt();
                var keys = new string[n];
                var values = new DataValue[n];
                for (int i = 0; i < n; i++)
                {
                    keys[i] = r.ReadString();
                    values[i] = ReadValue(r, depth + 1);
                }

                return new DataValue { Kind = DataKind.Object, Keys = keys, Values = values };
            case DataKind.Array:
                var items = new DataValue[r.Read7BitEncodedInt()];
                for (int i = 0; i < items.Length; i++)
                {
                    items[i] = ReadValue(r, depth + 1);
                }

                return new DataValue { Kind = DataKind.Array, Items = items };
            default:
                throw new InvalidDataException($"unknown value kind {(byte)kind}");
        }
    }
}
