using System.Text.RegularExpressions;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Engine;

/// <summary>A condition compiled for evaluation: operands pre-parsed, fields pre-resolved. Immutable, thread-safe.</summary>
internal abstract class CompiledCondition
{
    public abstract bool Evaluate(Evaluator ctx);
}

internal sealed class AllNode(CompiledCondition[] children) : CompiledCondition
{
    public CompiledCondition[] Children => children;

    public override bool Evaluate(Evaluator ctx)
    {
        foreach (var c in children)
        {
            if (!c.Evaluate(ctx))
            {
                return false;
            }
        }

        return true;
    }
}

internal sealed class AnyNode(CompiledCondition[] children) : CompiledCondition
{
    public CompiledCondition[] Children => children;

    public override bool Evaluate(Evaluator ctx)
    {
        foreach (var c in children)
        {
            if (c.Evaluate(ctx))
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class NotNode(CompiledCondition inner) : CompiledCondition
{
    public CompiledCondition Inner => inner;

    public override bool Evaluate(Evaluator ctx) => !inner.Evaluate(ctx);
}

/// <summary><c>occurred</c>: a track message of one of the names with <c>T - d &lt; t &lt;= T</c>.</summary>
internal sealed class OccurredNode(int[] nameIndexes, long windowTicks) : CompiledCondition
{
    /// <summary>The names asked about, as indexes into <see cref="LeadState.OccurredLast"/>.</summary>
    public int[] NameIndexes => nameIndexes;

    /// <summary>The window in ticks; 0: ever.</summary>
    public long WindowTicks => windowTicks;

    public override bool Evaluate(Evaluator ctx)
    {
        foreach (int i in nameIndexes)
        {
            long last = ctx.State.OccurredLast[i];
            if (last != long.MinValue && last <= ctx.Now && (windowTicks == 0 || last > ctx.Now - windowTicks))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>One operand of a comparison, pre-parsed: its text and its number (NaN where not numeric).</summary>
internal readonly struct Operand
{
    public readonly ModelValueKind Kind;
    public readonly string? Text;
    public readonly double Number;
    public readonly bool Boolean;

    public Operand(ModelValue v)
    {
        Kind = v.Kind;
        Boolean = v.Boolean;
        switch (v.Kind)
        {
            case ModelValueKind.String:
                Text = v.Text;
                Number = DataValue.ParseNumber(v.Text!);
                break;
            case ModelValueKind.Number:
                Number = v.Number;
                Text = v.Number.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                break;
            default:
                Text = v.Boolean ? "true" : "false";
                Number = double.NaN;
                break;
        }
    }
}

/// <summary>A leaf comparison (spec 3.3).</summary>
internal sealed class FieldNode : CompiledCondition
{
    private readonly FieldPath _field;
    private readonly ConditionOperator _op;
    private readonly Operand[] _operands;
    private readonly Regex? _regex;

    public FieldNode(FieldPath field, ConditionOperator op, ModelValue? value, TimeSpan regexTimeout)
    {
        _field = field;
        _op = op;
        _operands = value is null ? [] : value.Kind == ModelValueKind.Array ? value.Items.Select(i => new Operand(i)).ToArray() : [new Operand(value)];
        if (op == ConditionOperator.Matches)
        {
            _regex = new Regex(value!.Text!, RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, regexTimeout);
        }
    }

    public FieldPath Field => _field;

    public ConditionOperator Operator => _op;

    /// <summary>
    /// The numbers at which this comparison's result on a numeric field can change (spec 3.3: its numeric operands),
    /// or null where it can change anywhere (text operators, non-numeric operands). Empty: it never changes on a number.
    /// </summary>
    public double[]? NumericBreakpoints()
    {
        switch (_op)
        {
            case ConditionOperator.Exists or ConditionOperator.NotExists:
                return [];
            case ConditionOperator.Eq or ConditionOperator.Ne or ConditionOperator.In or ConditionOperator.NotIn
                or ConditionOperator.Gt or ConditionOperator.Gte or ConditionOperator.Lt or ConditionOperator.Lte or ConditionOperator.Between:
                var points = new double[_operands.Length];
                for (int i = 0; i < points.Length; i++)
                {
                    if (double.IsNaN(_operands[i].Number) || _operands[i].Kind == ModelValueKind.Boolean)
                    {
                        return null;
                    }

                    points[i] = _operands[i].Number;
                }

                return points;
            default:
                return null;
        }
    }

    public override bool Evaluate(Evaluator ctx)
    {
        if (_regex is not null)
        {
            RegexBudget.Enter(ctx);
        }

        return Test(ctx.Resolve(_field));
    }

    /// <summary>The comparison on a resolved value.</summary>
    public bool Test(in FieldValue v)
    {
        if (!v.Found)
        {
            return _op is ConditionOperator.NotExists or ConditionOperator.Ne or ConditionOperator.NotIn or ConditionOperator.NotContains;
        }

        switch (_op)
        {
            case ConditionOperator.Exists: return true;
            case ConditionOperator.NotExists: return false;
            case ConditionOperator.Eq: return Equal(v, _operands[0]);
            case ConditionOperator.Ne: return !Equal(v, _operands[0]);
            case ConditionOperator.In: return AnyEqual(v);
            case ConditionOperator.NotIn: return !AnyEqual(v);
            case ConditionOperator.Contains: return Text(v, _operands[0].Text!, TextOp.Contains);
            case ConditionOperator.NotContains: return !Text(v, _operands[0].Text!, TextOp.Contains);
            case ConditionOperator.ContainsAny: return AnyText(v, TextOp.Contains);
            case ConditionOperator.StartsWith: return Text(v, _operands[0].Text!, TextOp.StartsWith);
            case ConditionOperator.StartsWithAny: return AnyText(v, TextOp.StartsWith);
            case ConditionOperator.EndsWith: return Text(v, _operands[0].Text!, TextOp.EndsWith);
            case ConditionOperator.EndsWithAny: return AnyText(v, TextOp.EndsWith);
            case ConditionOperator.Gt: return Compare(v, _operands[0], out int c) && c > 0;
            case ConditionOperator.Gte: return Compare(v, _operands[0], out c) && c >= 0;
            case ConditionOperator.Lt: return Compare(v, _operands[0], out c) && c < 0;
            case ConditionOperator.Lte: return Compare(v, _operands[0], out c) && c <= 0;
            case ConditionOperator.Between:
                return Compare(v, _operands[0], out int low) && low >= 0 && Compare(v, _operands[1], out int high) && high <= 0;
            case ConditionOperator.Matches:
                return v.Text is { } t && IsMatch(t);
            default:
                return false;
        }
    }

    private bool IsMatch(string text)
    {
        if (!RegexBudget.TrySpend(text.Length))
        {
            return false;
        }

        try
        {
            return _regex!.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            // NonBacktracking runs in linear time; a timeout means an enormous input. It does not match.
            return false;
        }
    }

    private bool AnyEqual(in FieldValue v)
    {
        foreach (var o in _operands)
        {
            if (Equal(v, o))
            {
                return true;
            }
        }

        return false;
    }

    private bool AnyText(in FieldValue v, TextOp op)
    {
        foreach (var o in _operands)
        {
            if (Text(v, o.Text!, op))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Equality: numerically when both sides are numbers or numeric strings; booleans with booleans (or the
    /// strings "true"/"false"); otherwise ordinal case-insensitive text. Objects and arrays equal nothing.
    /// </summary>
    internal static bool Equal(in FieldValue v, in Operand o)
    {
        if (v.Kind is DataKind.Object or DataKind.Array || v.Text is null && !v.IsNumeric)
        {
            return false;
        }

        if (o.Kind == ModelValueKind.Boolean)
        {
            return v.Kind switch
            {
                DataKind.True => o.Boolean,
                DataKind.False => !o.Boolean,
                DataKind.String => string.Equals(v.Text, o.Text, StringComparison.OrdinalIgnoreCase),
                _ => false,
            };
        }

        if (v.IsNumeric && !double.IsNaN(o.Number))
        {
            return v.Number == o.Number;
        }

        if (o.Kind == ModelValueKind.Number || v.Kind is DataKind.True or DataKind.False || v.Text is null)
        {
            return false;
        }

        return string.Equals(v.Text, o.Text, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Ordering: numerically when both sides are numeric, else ordinal case-insensitive between two strings.</summary>
    internal static bool Compare(in FieldValue v, in Operand o, out int result)
    {
        if (v.IsNumeric && !double.IsNaN(o.Number) && v.Kind is DataKind.String or DataKind.Number)
        {
            result = v.Number.CompareTo(o.Number);
            return true;
        }

        if (v.Kind == DataKind.String && o.Kind == ModelValueKind.String && v.Text is not null)
        {
            result = string.Compare(v.Text, o.Text, StringComparison.OrdinalIgnoreCase);
            return true;
        }

        result = 0;
        return false;
    }

    private enum TextOp
    {
        Contains,
        StartsWith,
        EndsWith,
    }

    private static bool Text(in FieldValue v, string operand, TextOp op)
    {
        if (v.Text is not { } text || v.Kind is DataKind.Object or DataKind.Array)
        {
            return false;
        }

        return op switch
        {
            TextOp.Contains => text.Contains(operand, StringComparison.OrdinalIgnoreCase),
            TextOp.StartsWith => text.StartsWith(operand, StringComparison.OrdinalIgnoreCase),
            _ => text.EndsWith(operand, StringComparison.OrdinalIgnoreCase),
        };
    }
}

/// <summary>
/// Bounds the regular-expression work of one message (issue 14): <c>matches</c> tests at most
/// <see cref="RegexLimits.MaxEvaluatedCharsPerMessage"/> characters in all, and none on a text longer than
/// <see cref="RegexLimits.MaxInputChars"/>; past that the condition is false and <see cref="RegexLimits.Skipped"/>
/// counts it. The budget is per thread and restarts with each message applied (a new lead state or time of the
/// evaluator); a condition tested outside a message evaluation is bounded by the per-text limit only.
/// </summary>
internal static class RegexBudget
{
    [ThreadStatic]
    private static Evaluator? t_ctx;
    [ThreadStatic]
    private static LeadState? t_state;
    [ThreadStatic]
    private static long t_now;
    [ThreadStatic]
    private static long t_spent;
    [ThreadStatic]
    private static bool t_active;

    private static long s_skipped;

    public static long Skipped => Interlocked.Read(ref s_skipped);

    /// <summary>Starts a new budget when <paramref name="ctx"/> evaluates another message than the last one seen.</summary>
    public static void Enter(Evaluator ctx)
    {
        if (!ReferenceEquals(t_ctx, ctx) || !ReferenceEquals(t_state, ctx.State) || t_now != ctx.Now)
        {
            (t_ctx, t_state, t_now, t_spent) = (ctx, ctx.State, ctx.Now, 0);
        }

        t_active = true;
    }

    /// <summary>Whether a text of <paramref name="length"/> characters may be tested; counts a refusal.</summary>
    public static bool TrySpend(int length)
    {
        bool active = t_active;
        t_active = false;
        if (length > RegexLimits.MaxInputChars || (active && t_spent + length > RegexLimits.MaxEvaluatedCharsPerMessage))
        {
            Interlocked.Increment(ref s_skipped);
            return false;
        }

        if (active)
        {
            t_spent += length;
        }

        return true;
    }
}
