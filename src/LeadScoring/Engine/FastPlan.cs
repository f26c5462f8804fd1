using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// The event rules of a <see cref="CompiledModel"/> recompiled for <see cref="LeadScoringEngine"/>'s flat rows: each
/// rule's <c>when</c> becomes a test on two bit sets. Conditions on the lead's traits are evaluated once per trait
/// change into the lead's trait bits; conditions on a message field (<c>properties.*</c>, <c>context.*</c>) are
/// evaluated once per distinct value of that field and remembered (a page rule on <c>properties.url</c> tests each
/// URL once, not once per page view). Built per scorer: the memo tables are mutable. A model that needs more than
/// this plan can express (stages, decay, per-value limits, <c>after</c>, <c>occurred</c>, accounts, more than 64
/// leaves of either kind) gets no plan, and the scorer keeps a full <see cref="LeadState"/> per lead instead.
/// </summary>
internal sealed class FastPlan
{
    /// <summary>Most distinct values remembered per message field; past it, values are tested each time.</summary>
    public const int MaxMemo = 65_536;

    private FastPlan(CompiledModel model, List<FieldNode> traitLeaves, Dictionary<FieldPath, MessageField> fields, FastRuleSet page, FrozenDictionary<string, FastRuleSet> events)
    {
        Model = model;
        TraitLeaves = [.. traitLeaves];
        Fields = [.. fields.Values];
        for (int i = 0; i < Fields.Length; i++)
        {
            Fields[i].Index = i;
        }

        JsonReady = Fields.All(f => f.Path.Segments.Length == 1);
        Page = page;
        Events = events;
#if NET9_0_OR_GREATER
        EventsBySpan = events.GetAlternateLookup<ReadOnlySpan<char>>();
#endif
    }

    public CompiledModel Model { get; }

    /// <summary>Leaf conditions on <c>traits.*</c> used by event rules: bit i of a lead's trait bits.</summary>
    public FieldNode[] TraitLeaves { get; }

    /// <summary>The message fields event rules test, each with its leaves' bits and memo.</summary>
    public MessageField[] Fields { get; }

    /// <summary>Whether every message field is one level deep, so the JSON fast path can find it while reading.</summary>
    public bool JsonReady { get; }

    public FastRuleSet Page { get; }

    /// <summary>
    /// Per rule of the model (by index): for a trait rule, its condition as trait bits; null for event rules. Null
    /// altogether when some trait rule reads more than traits, so scores need the evaluator.
    /// </summary>
    public TraitRuleBits?[]? TraitRules { get; private init; }

    /// <summary>Every event rule.</summary>
    public FastRule[] Rules { get; private init; } = [];

    public FrozenDictionary<string, FastRuleSet> Events { get; }

#if NET9_0_OR_GREATER
    public FrozenDictionary<string, FastRuleSet>.AlternateLookup<ReadOnlySpan<char>> EventsBySpan { get; }
#endif

    /// <summary>The most window places (the sum of the limit counts of rules with a time window) flat rows hold inline.</summary>
    internal const int MaxInlineWindowPlaces = 64;

    /// <summary>The plan for <paramref name="model"/>, or null when the model needs the full lead state.</summary>
    public static FastPlan? TryCreate(CompiledModel model)
    {
        // Flat rows hold every window's times inline (4 bytes a place, up front): only for small windows. Models with
        // larger limits use full states, whose windows grow with use (WindowRing).
        if (model.RingSlots > MaxInlineWindowPlaces ||
            model.StageNames.Length > 1 || model.OccurredNames.Length > 0 || model.UsesAccount || model.KeepsAwardTimes || model.HasPerLimits)
        {
            return null;
        }

        var traitLeaves = new List<FieldNode>();
        var fields = new Dictionary<FieldPath, MessageField>(ReferenceEqualityComparer.Instance);
        var conditions = new List<(CompiledRule Rule, FastCondition? When)>();
        foreach (var rule in model.Rules)
        {
            if (!rule.IsEvent)
            {
                continue;
            }

            if (rule.AfterRing >= 0 || rule.LimitPer is not null)
            {
                return null;
            }

            FastCondition? when = null;
            if (rule.When is not null && (when = Convert(rule.When, traitLeaves, fields)) is null)
            {
                return null;
            }

            conditions.Add((rule, when));
        }

        if (traitLeaves.Count > 64)
        {
            return null;
        }

        // Trait rules too, when their conditions are on traits alone and the leaves still fit in 64 bits: then a
        // lead's trait-rule results are bits as well, and its scores are sums over bits and counters.
        var traitRules = new FastCondition?[model.Rules.Length];
        var extended = new List<FieldNode>(traitLeaves);
        bool traitRulesFit = true;
        foreach (var rule in model.Rules.Where(r => !r.IsEvent && r.When is not null))
        {
            if ((traitRules[rule.Index] = Convert(rule.When!, extended, null)) is null)
            {
                traitRulesFit = false;
                break;
            }
        }

        if (traitRulesFit && extended.Count <= 64)
        {
            traitLeaves = extended;
        }
        else
        {
            traitRules = null;
        }

        int shift = 0;
        foreach (var f in fields.Values)
        {
            f.Shift = shift;
            shift += f.Leaves.Count;
        }

        if (shift > 64)
        {
            return null;
        }

        // Masks read the fields' bit positions, so the rules are built once those are laid out.
        var compiled = conditions.ToDictionary(c => c.Rule, c => new FastRule(c.Rule, c.When, model));
        var page = FastRuleSet.Of(model.PageRules, compiled);
        var events = model.EventRules.ToFrozenDictionary(kv => kv.Key, kv => FastRuleSet.Of(kv.Value, compiled), StringComparer.OrdinalIgnoreCase);
        return new FastPlan(model, traitLeaves, fields, page, events)
        {
            Rules = [.. compiled.Values],
            TraitRules = traitRules?.Select((c, i) => model.Rules[i].IsEvent ? null : new TraitRuleBits(c)).ToArray(),
        };
    }

    private static FastCondition? Convert(CompiledCondition c, List<FieldNode> traitLeaves, Dictionary<FieldPath, MessageField>? fields)
    {
        switch (c)
        {
            case AllNode all:
                return ConvertAll(all.Children, traitLeaves, fields) is { } a ? new FastAll(a) : null;
            case AnyNode any:
                return ConvertAll(any.Children, traitLeaves, fields) is { } b ? new FastAny(b) : null;
            case NotNode not:
                return Convert(not.Inner, traitLeaves, fields) is { } inner ? new FastNot(inner) : null;
            case FieldNode leaf when leaf.Field.Root == FieldRoot.Traits:
                int bit = traitLeaves.IndexOf(leaf);
                if (bit < 0)
                {
                    bit = traitLeaves.Count;
                    traitLeaves.Add(leaf);
                }

                return new TraitBit(bit);
            case FieldNode leaf when fields is not null && leaf.Field.Root is FieldRoot.Properties or FieldRoot.Context:
                if (!fields.TryGetValue(leaf.Field, out var field))
                {
                    fields[leaf.Field] = field = new MessageField(leaf.Field);
                }

                int index = field.Leaves.IndexOf(leaf);
                if (index < 0)
                {
                    index = field.Leaves.Count;
                    field.Leaves.Add(leaf);
                }

                return new MessageBit(field, index);
            default:
                return null;
        }
    }

    private static FastCondition[]? ConvertAll(CompiledCondition[] children, List<FieldNode> traitLeaves, Dictionary<FieldPath, MessageField>? fields)
    {
        var result = new FastCondition[children.Length];
        for (int i = 0; i < children.Length; i++)
        {
            if (Convert(children[i], traitLeaves, fields) is not { } f)
            {
                return null;
            }

            result[i] = f;
        }

        return result;
    }
}

/// <summary>The rules that can match one kind of message, in model order, and the message fields they test.</summary>
internal sealed class FastRuleSet(FastRule[] rules, MessageField[] fields)
{
    public FastRule[] Rules { get; } = rules;

    /// <summary>
    /// Each rule's trait mask, side by side, padded to a multiple of <see cref="MaskBlock"/> (the padding's bits are
    /// cleared by <see cref="RuleBits"/>; see <see cref="AllMasked"/>).
    /// </summary>
    public ulong[] TraitMasks { get; } = Padded(rules.Select(r => r.TraitMask));

    /// <summary>Each rule's message mask, side by side, padded as <see cref="TraitMasks"/>.</summary>
    public ulong[] MessageMasks { get; } = Padded(rules.Select(r => r.MessageMask));

    /// <summary>A bit per rule: the bits of the rules that exist among those worked out from the padded masks.</summary>
    public ulong RuleBits { get; } = rules.Length >= 64 ? ulong.MaxValue : (1UL << rules.Length) - 1;

    /// <summary>
    /// Whether every rule's condition is a conjunction of bits (or absent) and there are at most 64: the rules that
    /// hold are then worked out at once, as a bit per rule, without a branch per rule.
    /// </summary>
    public bool AllMasked { get; } = rules.Length <= 64 && rules.All(r => r.Masked);

    /// <summary>How many masks are tested at once (eight 64-bit lanes).</summary>
    public const int MaskBlock = 8;

    /// <summary>The masks padded with zeros to a multiple of <see cref="MaskBlock"/>.</summary>
    internal static ulong[] Padded(IEnumerable<ulong> masks)
    {
        var list = masks.ToList();
        while (list.Count % MaskBlock != 0)
        {
            list.Add(0);
        }

        return [.. list];
    }

    /// <summary>A bit per rule (all masked: <see cref="AllMasked"/>) whose masks the trait and message bits hold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Holding(ulong traitBits, ulong messageBits) => Holding(TraitMasks, MessageMasks, RuleBits, traitBits, messageBits);

    /// <summary>
    /// A bit per rule whose masks (padded, <see cref="Padded"/>) the bits hold, within <paramref name="ruleBits"/>: eight
    /// rules at a time as vector lanes where the processor has them, else <see cref="HoldingOneByOne"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Holding(ulong[] traitMasks, ulong[] messageMasks, ulong ruleBits, ulong traitBits, ulong messageBits)
    {
        if (!Vector512.IsHardwareAccelerated || traitMasks.Length != messageMasks.Length || traitMasks.Length > 64)
        {
            return HoldingOneByOne(traitMasks, messageMasks, ruleBits, traitBits, messageBits);
        }

        var traits = Vector512.Create(traitBits);
        var message = Vector512.Create(messageBits);
        ulong holding = 0;
        for (int k = 0; k + MaskBlock <= traitMasks.Length; k += MaskBlock)
        {
            var t = Vector512.LoadUnsafe(ref traitMasks[k]);
            var m = Vector512.LoadUnsafe(ref messageMasks[k]);
            var holds = Vector512.Equals(traits & t, t) & Vector512.Equals(message & m, m);
            holding |= holds.ExtractMostSignificantBits() << k;
        }

        return holding & ruleBits;
    }

    /// <summary><see cref="Holding(ulong[], ulong[], ulong, ulong, ulong)"/> one rule at a time (no vectors), without a branch per rule.</summary>
    internal static ulong HoldingOneByOne(ulong[] traitMasks, ulong[] messageMasks, ulong ruleBits, ulong traitBits, ulong messageBits)
    {
        ulong holding = 0;
        for (int k = 0; k < traitMasks.Length && k < messageMasks.Length && k < 64; k++)
        {
            bool holds = ((traitBits & traitMasks[k]) == traitMasks[k]) & ((messageBits & messageMasks[k]) == messageMasks[k]);
            holding |= (ulong)Unsafe.BitCast<bool, byte>(holds) << k;
        }

        return holding & ruleBits;
    }

    public MessageField[] Fields { get; } = fields;

    public static FastRuleSet Of(CompiledRule[] rules, Dictionary<CompiledRule, FastRule> compiled)
    {
        var fast = rules.Select(r => compiled[r]).ToArray();
        var fields = new List<MessageField>();
        foreach (var r in fast)
        {
            r.When?.CollectFields(fields);
        }

        return new FastRuleSet(fast, [.. fields]);
    }
}

/// <summary>A trait rule's condition on a lead's trait bits (always true without a condition).</summary>
internal sealed class TraitRuleBits(FastCondition? when)
{
    private readonly ulong _mask = when is null ? 0 : FastRule.MaskOf(when);
    private readonly bool _masked = when is null || FastRule.IsMaskable(when);

    public bool Holds(ulong traits) => _masked ? (traits & _mask) == _mask : when!.Evaluate(traits, 0);
}

/// <summary>An event rule on flat rows: its condition on bits and its limit window's place in the row.</summary>
internal sealed class FastRule
{
    public FastRule(CompiledRule rule, FastCondition? when, CompiledModel model)
    {
        When = when;
        CountIndex = 2 * rule.EventIndex;
        LimitCount = rule.LimitCount;
        LimitWindowTicks = rule.LimitWindowTicks;
        LimitWindowSeconds = (int)Math.Min(int.MaxValue, rule.LimitWindowTicks / TimeSpan.TicksPerSecond);
        Ring = rule.LimitRing;
        ulong traitMask = 0, messageMask = 0;
        Masked = when is null || Masks(when, ref traitMask, ref messageMask);
        TraitMask = traitMask;
        MessageMask = messageMask;
        if (Ring >= 0)
        {
            RingOffset = model.RingOffsets[Ring];
            RingSize = model.RingSizes[Ring];
        }
    }

    public FastCondition? When { get; }

    /// <summary>Whether the condition is a conjunction of bits (or absent): it holds when every mask bit is set.</summary>
    public bool Masked { get; }

    public ulong TraitMask { get; }

    public ulong MessageMask { get; }

    /// <summary>Whether the condition holds on a lead's trait bits and a message's field bits.</summary>
    public bool Holds(ulong traitBits, ulong messageBits) => Masked
        ? (traitBits & TraitMask) == TraitMask && (messageBits & MessageMask) == MessageMask
        : When!.Evaluate(traitBits, messageBits);

    public static bool IsMaskable(FastCondition c)
    {
        ulong t = 0, m = 0;
        return Masks(c, ref t, ref m);
    }

    public static ulong MaskOf(FastCondition c)
    {
        ulong t = 0, m = 0;
        Masks(c, ref t, ref m);
        return t;
    }

    private static bool Masks(FastCondition c, ref ulong traits, ref ulong message)
    {
        switch (c)
        {
            case TraitBit t:
                traits |= t.Mask;
                return true;
            case MessageBit m:
                message |= m.Mask;
                return true;
            case FastAll all:
                foreach (var child in all.Children)
                {
                    if (!Masks(child, ref traits, ref message))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>Awards at this index of the row's counters, limit-suppressed candidates at the next.</summary>
    public int CountIndex { get; }

    public int LimitCount { get; }

    public long LimitWindowTicks { get; }

    /// <summary>The window in whole seconds (the scorer keeps window times in seconds when every window is whole seconds).</summary>
    public int LimitWindowSeconds { get; }

    public int Ring { get; }

    public int RingOffset { get; }

    public int RingSize { get; }
}

/// <summary>
/// A message field that event rules test (e.g. <c>properties.url</c>): its leaves, their bit positions from
/// <see cref="Shift"/>, and the bits remembered per distinct string value.
/// </summary>
internal sealed class MessageField(FieldPath path)
{
    private ulong _missingBits;
    private bool _missingKnown;

    public FieldPath Path { get; } = path;

    public List<FieldNode> Leaves { get; } = [];

    public int Shift { get; set; }

    /// <summary>Position in <see cref="FastPlan.Fields"/>.</summary>
    public int Index { get; set; }

    public MemoTable Memo { get; } = new();

    public ulong MissingBits()
    {
        if (!_missingKnown)
        {
            _missingBits = Test(FieldValue.Missing);
            _missingKnown = true;
        }

        return _missingBits;
    }

    /// <summary>The bits for a string value given as characters; allocates only the first time a value is seen.</summary>
    public ulong Bits(ReadOnlySpan<char> text)
    {
        if (Memo.TryGetValue(text, out ulong bits))
        {
            return bits;
        }

        string s = text.ToString();
        bits = Test(new FieldValue(DataKind.String, s, DataValue.ParseNumber(s)));
        Memo.Add(s, bits);
        return bits;
    }

    /// <summary>The bits of this field's leaves for <paramref name="m"/>; allocates only the first time a value is seen.</summary>
    public ulong Bits(LeadMessage m)
    {
        var v = Path.Walk(Path.Root == FieldRoot.Properties ? m.Properties : m.Context, 0);
        if (v is null)
        {
            return MissingBits();
        }

        if (v.Kind == DataKind.String && v.Text is { } text)
        {
            // The value's hash was worked out when it was made.
            if (Memo.TryGetValue(text, v.TextHash, out ulong bits))
            {
                return bits;
            }

            bits = Test(FieldValue.Of(v));
            Memo.Add(text, bits);
            return bits;
        }

        return Test(FieldValue.Of(v));
    }

    public ulong Test(in FieldValue v)
    {
        ulong bits = 0;
        var leaves = Leaves;
        for (int i = 0; i < leaves.Count; i++)
        {
            if (leaves[i].Test(v))
            {
                bits |= 1UL << (Shift + i);
            }
        }

        return bits;
    }
}

/// <summary>A rule condition over a lead's trait bits and a message's field bits.</summary>
internal abstract class FastCondition
{
    public abstract bool Evaluate(ulong traits, ulong message);

    public virtual void CollectFields(List<MessageField> fields)
    {
    }
}

internal sealed class TraitBit(int bit) : FastCondition
{
    public ulong Mask => 1UL << bit;

    public override bool Evaluate(ulong traits, ulong message) => (traits & (1UL << bit)) != 0;
}

internal sealed class MessageBit(MessageField source, int index) : FastCondition
{
    /// <summary>Valid once the plan has laid out the fields' bits.</summary>
    public ulong Mask => 1UL << (source.Shift + index);

    public override bool Evaluate(ulong traits, ulong message) => (message & (1UL << (source.Shift + index))) != 0;

    public override void CollectFields(List<MessageField> fields)
    {
        if (!fields.Contains(source))
        {
            fields.Add(source);
        }
    }
}

internal sealed class FastAll(FastCondition[] children) : FastCondition
{
    public FastCondition[] Children => children;

    public override bool Evaluate(ulong traits, ulong message)
    {
        foreach (var c in children)
        {
            if (!c.Evaluate(traits, message))
            {
                return false;
            }
        }

        return true;
    }

    public override void CollectFields(List<MessageField> fields)
    {
        foreach (var c in children)
        {
            c.CollectFields(fields);
        }
    }
}

internal sealed class FastAny(FastCondition[] children) : FastCondition
{
    public override bool Evaluate(ulong traits, ulong message)
    {
        foreach (var c in children)
        {
            if (c.Evaluate(traits, message))
            {
                return true;
            }
        }

        return false;
    }

    public override void CollectFields(List<MessageField> fields)
    {
        foreach (var c in children)
        {
            c.CollectFields(fields);
        }
    }
}

internal sealed class FastNot(FastCondition inner) : FastCondition
{
    public override bool Evaluate(ulong traits, ulong message) => !inner.Evaluate(traits, message);

    public override void CollectFields(List<MessageField> fields) => inner.CollectFields(fields);
}
