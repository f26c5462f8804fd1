using NRules;
using NRules.Fluent;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>The fact the 17 engagement rules match: one event with references to its lead's profile and host state.</summary>
public sealed class EngagementFact(PeerEvent e, PeerProfile p, PeerLeadState s)
{
    public PeerEvent Event { get; } = e;

    public PeerProfile Profile { get; } = p;

    public PeerLeadState State { get; } = s;
}

/// <summary>The fact the 12 fit rules match: one lead's profile; their actions add to <see cref="Fit"/>.</summary>
public sealed class FitFact(PeerProfile p)
{
    public PeerProfile Profile { get; } = p;

    public int Fit { get; private set; }

    public void Add(int points) => Fit += points;
}

/// <summary>
/// NRules 1.0.4 on the canonical workload, as its README shows and canonical-workload.md §8 describes: one
/// fluent-DSL <c>Rule</c> class per rule (<c>Canonical/NRulesRules.cs</c>), loaded into a
/// <see cref="RuleRepository"/> and compiled once to an <see cref="ISessionFactory"/>; one long-lived session
/// (working memory). Per event: insert an <see cref="EngagementFact"/>, fire, retract; per lead (fit): insert a
/// <see cref="FitFact"/>, fire, retract. Rule actions add points and record the hits of capped rules; capped rules
/// test <see cref="PeerLeadState.UnderCap"/> in their conditions, which NRules evaluates when the fact is inserted,
/// so on the state as it was before the event.
/// </summary>
public sealed class NRulesPeer
{
    private readonly ISession _session;

    public NRulesPeer()
    {
        var repository = new RuleRepository();
        repository.Load(x => x.From(typeof(NRulesPeer).Assembly));
        Factory = repository.Compile();
        _session = Factory.CreateSession();
    }

    public ISessionFactory Factory { get; }

    /// <summary>The 12 fit rules on one profile.</summary>
    public int Fit(PeerProfile p)
    {
        var fact = new FitFact(p);
        _session.Insert(fact);
        _session.Fire();
        _session.Retract(fact);
        return fact.Fit;
    }

    /// <summary>The 17 engagement rules on one event of the lead whose profile and state are given.</summary>
    public void Apply(PeerEvent e, PeerProfile p, PeerLeadState s)
    {
        var fact = new EngagementFact(e, p, s);
        _session.Insert(fact);
        _session.Fire();
        _session.Retract(fact);
    }

    /// <summary>Every lead's fit, in <c>lead_id</c> order.</summary>
    public int[] FitAll(PeerProfile[] profiles)
    {
        var fit = new int[profiles.Length];
        for (int i = 0; i < fit.Length; i++)
        {
            fit[i] = Fit(profiles[i]);
        }

        return fit;
    }

    /// <summary>Counts the rules fired from now on, by rule name (for <c>--verify</c>; NRules' own event).</summary>
    public Dictionary<string, int> CountAwards()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        _session.Events.RuleFiredEvent += (_, args) => counts[args.Rule.Name] = counts.GetValueOrDefault(args.Rule.Name) + 1;
        return counts;
    }
}
