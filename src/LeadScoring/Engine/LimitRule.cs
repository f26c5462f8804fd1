namespace LeadScoring.Engine;

/// <summary>
/// Spec 3.2 <c>limit</c>, the one place its test is written: a candidate at time <c>t</c> is awarded only if fewer
/// than <c>count</c> awards of the rule (for the lead, or for the lead and one value of <c>per</c>) have a time in
/// <c>(t − window, t]</c>; without a window, fewer than <c>count</c> in the lead's life. Awards are applied in spec
/// 2.3 order, so the awards so far are at or before <c>t</c>, and the window is full exactly when the oldest of the
/// last <c>count</c> award times is after <c>t − window</c>. Every store of award times (a lead state's rings, the
/// per-value windows, a flat row's ring of whole seconds) asks here; they differ in storage, not in the rule.
/// </summary>
internal static class LimitRule
{
    /// <summary>
    /// Whether a lifetime limit (no window) stops a candidate: <paramref name="awards"/> of the rule so far, of at most
    /// <paramref name="count"/>.
    /// </summary>
    public static bool LifetimeReached(int awards, int count) => awards >= count;

    /// <summary>
    /// Whether a window limit stops a candidate at <paramref name="now"/>: <paramref name="full"/> when the rule has at
    /// least <c>count</c> awards so far, and <paramref name="oldestOfLast"/> the oldest of the last <c>count</c> of them.
    /// All three times in one unit (ticks, or whole seconds on flat rows).
    /// </summary>
    public static bool WindowReached(bool full, long oldestOfLast, long now, long window) => full && oldestOfLast > now - window;
}
