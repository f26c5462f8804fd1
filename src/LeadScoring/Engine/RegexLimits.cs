namespace LeadScoring.Engine;

/// <summary>
/// The bounds of regular-expression work (<c>matches</c> conditions), so that no message costs seconds however many
/// <c>matches</c> rules a model has. Expressions are compiled once, with <c>RegexOptions.NonBacktracking</c> (time
/// linear in the text). Past a bound the condition is false, and <see cref="Skipped"/> counts it.
/// </summary>
public static class RegexLimits
{
    /// <summary>The longest text a <c>matches</c> condition tests, in characters (64 Ki, the default longest message string).</summary>
    public const int MaxInputChars = 64 * 1024;

    /// <summary>The most characters all <c>matches</c> conditions together test for one message (4 Mi).</summary>
    public const int MaxEvaluatedCharsPerMessage = 4 * 1024 * 1024;

    /// <summary>How many <c>matches</c> tests were not run (and were false) because of these bounds, in this process.</summary>
    public static long Skipped => RegexBudget.Skipped;
}
