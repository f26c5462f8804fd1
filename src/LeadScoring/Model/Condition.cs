using System.Collections.Immutable;

namespace LeadScoring.Model;

/// <summary>A condition of the model (spec 3.3). Immutable.</summary>
public abstract class Condition
{
    private protected Condition()
    {
    }
}

/// <summary>A leaf: <c>{ "field": F, "op": OP, "value": V }</c>.</summary>
public sealed class FieldCondition : Condition
{
    internal FieldCondition(string field, ConditionOperator op, ModelValue? value)
    {
        Field = field;
        Operator = op;
        Value = value;
    }

    /// <summary>The field path, e.g. <c>traits.title</c>.</summary>
    public string Field { get; }

    /// <summary>The operator.</summary>
    public ConditionOperator Operator { get; }

    /// <summary>The operand; <see langword="null"/> for <c>exists</c> and <c>notExists</c>.</summary>
    public ModelValue? Value { get; }
}

/// <summary><c>{ "all": [...] }</c>: holds when every child holds (an empty list holds).</summary>
public sealed class AllCondition : Condition
{
    internal AllCondition(ImmutableArray<Condition> conditions) => Conditions = conditions;

    /// <summary>The children.</summary>
    public ImmutableArray<Condition> Conditions { get; }
}

/// <summary><c>{ "any": [...] }</c>: holds when some child holds (an empty list does not).</summary>
public sealed class AnyCondition : Condition
{
    internal AnyCondition(ImmutableArray<Condition> conditions) => Conditions = conditions;

    /// <summary>The children.</summary>
    public ImmutableArray<Condition> Conditions { get; }
}

/// <summary><c>{ "not": C }</c>.</summary>
public sealed class NotCondition : Condition
{
    internal NotCondition(Condition condition) => Condition = condition;

    /// <summary>The negated condition.</summary>
    public Condition Condition { get; }
}

/// <summary><c>{ "occurred": NAMES, "withinDays": d }</c>: a track message of one of these names exists in the window.</summary>
public sealed class OccurredCondition : Condition
{
    internal OccurredCondition(ImmutableArray<string> events, double? withinDays)
    {
        Events = events;
        WithinDays = withinDays;
    }

    /// <summary>The track event names (compared case-insensitively).</summary>
    public ImmutableArray<string> Events { get; }

    /// <summary>The trailing window in days; <see langword="null"/>: ever.</summary>
    public double? WithinDays { get; }
}

/// <summary>The operators of spec 3.3.</summary>
public enum ConditionOperator
{
    /// <summary>Equal.</summary>
    Eq,
    /// <summary>Not equal (true when the field is missing).</summary>
    Ne,
    /// <summary>Equal to one of the values.</summary>
    In,
    /// <summary>Equal to none of the values (true when missing).</summary>
    NotIn,
    /// <summary>Contains the substring.</summary>
    Contains,
    /// <summary>Does not contain the substring (true when missing).</summary>
    NotContains,
    /// <summary>Contains one of the substrings.</summary>
    ContainsAny,
    /// <summary>Starts with the prefix.</summary>
    StartsWith,
    /// <summary>Starts with one of the prefixes.</summary>
    StartsWithAny,
    /// <summary>Ends with the suffix.</summary>
    EndsWith,
    /// <summary>Ends with one of the suffixes.</summary>
    EndsWithAny,
    /// <summary>Greater than.</summary>
    Gt,
    /// <summary>Greater than or equal.</summary>
    Gte,
    /// <summary>Less than.</summary>
    Lt,
    /// <summary>Less than or equal.</summary>
    Lte,
    /// <summary>Within <c>[low, high]</c>, inclusive.</summary>
    Between,
    /// <summary>The field is present.</summary>
    Exists,
    /// <summary>The field is missing.</summary>
    NotExists,
    /// <summary>Matches the regular expression (run without backtracking).</summary>
    Matches,
}

/// <summary>A literal of the model: a string, a finite number, a boolean, or an array of those.</summary>
public sealed class ModelValue
{
    private ModelValue(ModelValueKind kind, string? text, double number, bool boolean, ImmutableArray<ModelValue> items)
    {
        Kind = kind;
        Text = text;
        Number = number;
        Boolean = boolean;
        Items = items;
    }

    /// <summary>The kind of literal.</summary>
    public ModelValueKind Kind { get; }

    /// <summary>The string, when <see cref="Kind"/> is <see cref="ModelValueKind.String"/>.</summary>
    public string? Text { get; }

    /// <summary>The number, when <see cref="Kind"/> is <see cref="ModelValueKind.Number"/>.</summary>
    public double Number { get; }

    /// <summary>The boolean, when <see cref="Kind"/> is <see cref="ModelValueKind.Boolean"/>.</summary>
    public bool Boolean { get; }

    /// <summary>The items, when <see cref="Kind"/> is <see cref="ModelValueKind.Array"/>.</summary>
    public ImmutableArray<ModelValue> Items { get; }

    /// <summary>A string literal.</summary>
    public static ModelValue FromString(string value) => new(ModelValueKind.String, value ?? throw new ArgumentNullException(nameof(value)), 0, false, default);

    /// <summary>A number literal; it must be finite (JSON has no infinity or NaN).</summary>
    public static ModelValue FromNumber(double value) => double.IsFinite(value)
        ? new(ModelValueKind.Number, null, value, false, default)
        : throw new ArgumentOutOfRangeException(nameof(value), value, "A model number must be finite.");

    /// <summary>A boolean literal.</summary>
    public static ModelValue FromBoolean(bool value) => new(ModelValueKind.Boolean, null, 0, value, default);

    /// <summary>An array literal.</summary>
    public static ModelValue FromArray(IEnumerable<ModelValue> items) => new(ModelValueKind.Array, null, 0, false, items.ToImmutableArray());

    /// <summary>Converts a CLR literal (string, number, bool, or a sequence of those) into a model value.</summary>
    public static ModelValue From(object value) => value switch
    {
        ModelValue v => v,
        string s => FromString(s),
        bool b => FromBoolean(b),
        double d => FromNumber(d),
        float f => FromNumber(f),
        int i => FromNumber(i),
        long l => FromNumber(l),
        decimal m => FromNumber((double)m),
        System.Collections.IEnumerable e => FromArray(e.Cast<object>().Select(From)),
        _ => throw new ArgumentException($"A model value is a string, a number, a boolean or an array of those, not {value?.GetType().Name ?? "null"}.", nameof(value)),
    };
}

/// <summary>The kinds of <see cref="ModelValue"/>.</summary>
public enum ModelValueKind
{
    /// <summary>A string.</summary>
    String,
    /// <summary>A number.</summary>
    Number,
    /// <summary>A boolean.</summary>
    Boolean,
    /// <summary>An array.</summary>
    Array,
}
