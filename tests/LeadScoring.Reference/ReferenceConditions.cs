using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LeadScoring.Reference;

internal enum ValueKind
{
    String,
    Number,
    Boolean,
    Object,
    Array,
}

/// <summary>A field's value at an instant. A missing field (absent, or JSON <c>null</c>) is a null <see cref="Value"/>.</summary>
internal sealed record Value(ValueKind Kind, string? Text, double Number, bool Boolean)
{
    public bool IsNumeric => !double.IsNaN(Number);

    public static Value String(string s) => new(ValueKind.String, s, ParseNumber(s), false);

    /// <summary>A number the scorer computed (a score): it has no text, like the library's scores.</summary>
    public static Value Computed(double d) => new(ValueKind.Number, null, d, false);

    /// <summary>Strings compare as numbers when they parse as invariant-culture numbers (3.3).</summary>
    public static double ParseNumber(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) ? d : double.NaN;

    public static Value? FromJson(JsonElement? element) => element is not { } e ? null : e.ValueKind switch
    {
        JsonValueKind.String => String(e.GetString()!),
        // Numbers keep their JSON text for text operators (decisions.md: "Text operators read numbers ... as their JSON text").
        JsonValueKind.Number => new Value(ValueKind.Number, e.GetRawText(), e.TryGetDouble(out double d) && double.IsFinite(d) ? d : double.NaN, false),
        JsonValueKind.True => new Value(ValueKind.Boolean, "true", double.NaN, true),
        JsonValueKind.False => new Value(ValueKind.Boolean, "false", double.NaN, false),
        JsonValueKind.Object => new Value(ValueKind.Object, null, double.NaN, false),
        JsonValueKind.Array => new Value(ValueKind.Array, null, double.NaN, false),
        _ => null,
    };

    /// <summary>Walks a dotted path below <paramref name="start"/>; JSON null and non-objects on the way are missing.</summary>
    public static JsonElement? Walk(JsonElement? start, IEnumerable<string> segments)
    {
        var current = start;
        foreach (var s in segments)
        {
            if (current is not { ValueKind: JsonValueKind.Object } o)
            {
                return null;
            }

            JsonElement? next = null;
            foreach (var p in o.EnumerateObject())
            {
                if (p.Name == s)
                {
                    next = p.Value; // a repeated key: the last one wins
                }
            }

            current = next;
        }

        return current is { ValueKind: JsonValueKind.Null } ? null : current;
    }
}

/// <summary>What a condition can ask about the lead at one instant.</summary>
internal interface IConditionScope
{
    /// <summary>The value of a field (3.3), or null when missing.</summary>
    Value? Field(string path);

    /// <summary>Whether a track message of one of the names exists for the lead with <c>Now - withinDays &lt; t &lt;= Now</c>.</summary>
    bool Occurred(IReadOnlyList<string> names, double? withinDays);
}

/// <summary>Contract 3.3, interpreted straight from the JSON of a condition.</summary>
internal static class ReferenceConditions
{
    private static readonly Dictionary<string, Regex> Regexes = [];
    private static readonly Lock RegexLock = new();

    public static bool Holds(JsonElement c, IConditionScope scope)
    {
        if (c.TryGetProperty("all", out var all))
        {
            return all.EnumerateArray().All(x => Holds(x, scope));
        }

        if (c.TryGetProperty("any", out var any))
        {
            return any.EnumerateArray().Any(x => Holds(x, scope));
        }

        if (c.TryGetProperty("not", out var not))
        {
            return !Holds(not, scope);
        }

        if (c.TryGetProperty("occurred", out var occurred))
        {
            var names = occurred.ValueKind == JsonValueKind.Array ? occurred.EnumerateArray().Select(x => x.GetString()!).ToList() : [occurred.GetString()!];
            double? within = c.TryGetProperty("withinDays", out var w) ? w.GetDouble() : null;
            return scope.Occurred(names, within);
        }

        string field = c.GetProperty("field").GetString()!;
        string op = c.GetProperty("op").GetString()!;
        var operand = c.TryGetProperty("value", out var value) ? value : (JsonElement?)null;
        return Test(scope.Field(field), op, operand);
    }

    public static bool Test(Value? v, string op, JsonElement? operand)
    {
        if (v is null)
        {
            // 3.3: a missing field makes every operator false except notExists, ne, notIn and notContains.
            return op is "notExists" or "ne" or "notIn" or "notContains";
        }

        var operands = operand is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray().ToList() : operand is { } one ? [one] : [];
        return op switch
        {
            "exists" => true,
            "notExists" => false,
            "eq" => Equal(v, operands[0]),
            "ne" => !Equal(v, operands[0]),
            "in" => operands.Any(o => Equal(v, o)),
            "notIn" => !operands.Any(o => Equal(v, o)),
            "contains" => TextTest(v, operands[0], (t, o) => t.Contains(o, StringComparison.OrdinalIgnoreCase)),
            "notContains" => !TextTest(v, operands[0], (t, o) => t.Contains(o, StringComparison.OrdinalIgnoreCase)),
            "containsAny" => operands.Any(o => TextTest(v, o, (t, x) => t.Contains(x, StringComparison.OrdinalIgnoreCase))),
            "startsWith" => TextTest(v, operands[0], (t, o) => t.StartsWith(o, StringComparison.OrdinalIgnoreCase)),
            "startsWithAny" => operands.Any(o => TextTest(v, o, (t, x) => t.StartsWith(x, StringComparison.OrdinalIgnoreCase))),
            "endsWith" => TextTest(v, operands[0], (t, o) => t.EndsWith(o, StringComparison.OrdinalIgnoreCase)),
            "endsWithAny" => operands.Any(o => TextTest(v, o, (t, x) => t.EndsWith(x, StringComparison.OrdinalIgnoreCase))),
            "gt" => Order(v, operands[0]) is > 0,
            "gte" => Order(v, operands[0]) is >= 0,
            "lt" => Order(v, operands[0]) is < 0,
            "lte" => Order(v, operands[0]) is <= 0,
            "between" => Order(v, operands[0]) is >= 0 && Order(v, operands[1]) is <= 0,
            "matches" => v.Text is { } text && v.Kind is not (ValueKind.Object or ValueKind.Array) && Matches(text, operands[0].GetString()!),
            _ => throw new NotSupportedException($"operator '{op}' is not in contract 3.3"),
        };
    }

    private static string OperandText(JsonElement o) => o.ValueKind switch
    {
        JsonValueKind.String => o.GetString()!,
        JsonValueKind.Number => o.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        JsonValueKind.True => "true",
        _ => "false",
    };

    private static double OperandNumber(JsonElement o) => o.ValueKind switch
    {
        JsonValueKind.Number => o.GetDouble(),
        JsonValueKind.String => Value.ParseNumber(o.GetString()!),
        _ => double.NaN,
    };

    /// <summary>
    /// Equality. Contract: strings ordinal case-insensitive; numbers numerically, numeric strings as numbers.
    /// Where it is silent (booleans, objects), as docs/decisions.md says: a boolean operand equals a boolean, or the
    /// string "true"/"false"; a boolean field equals only a boolean operand; a number operand never equals a
    /// non-numeric text; objects and arrays equal nothing.
    /// </summary>
    private static bool Equal(Value v, JsonElement o)
    {
        if (v.Kind is ValueKind.Object or ValueKind.Array)
        {
            return false;
        }

        if (o.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            bool b = o.ValueKind == JsonValueKind.True;
            return v.Kind switch
            {
                ValueKind.Boolean => v.Boolean == b,
                ValueKind.String => string.Equals(v.Text, b ? "true" : "false", StringComparison.OrdinalIgnoreCase),
                _ => false,
            };
        }

        double n = OperandNumber(o);
        if (v.IsNumeric && !double.IsNaN(n))
        {
            return v.Number == n;
        }

        if (o.ValueKind == JsonValueKind.Number || v.Kind == ValueKind.Boolean || v.Text is null)
        {
            return false;
        }

        return string.Equals(v.Text, o.GetString(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Ordering: numeric when both sides are numeric, else between two strings ordinal case-insensitive, else none (decisions.md).</summary>
    private static int? Order(Value v, JsonElement o)
    {
        double n = OperandNumber(o);
        if (v.IsNumeric && !double.IsNaN(n) && v.Kind is ValueKind.String or ValueKind.Number)
        {
            return v.Number.CompareTo(n);
        }

        if (v.Kind == ValueKind.String && o.ValueKind == JsonValueKind.String)
        {
            return Math.Sign(string.Compare(v.Text, o.GetString(), StringComparison.OrdinalIgnoreCase));
        }

        return null;
    }

    /// <summary>Text operators read numbers and booleans as their JSON text; objects and arrays contain nothing.</summary>
    private static bool TextTest(Value v, JsonElement o, Func<string, string, bool> test) =>
        v.Text is { } text && v.Kind is not (ValueKind.Object or ValueKind.Array) && test(text, OperandText(o));

    private static bool Matches(string text, string pattern)
    {
        Regex regex;
        lock (RegexLock)
        {
            if (!Regexes.TryGetValue(pattern, out regex!))
            {
                // 3.3: "run without backtracking"; case-insensitive like every other string comparison.
                regex = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                Regexes[pattern] = regex;
            }
        }

        try
        {
            return regex.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
