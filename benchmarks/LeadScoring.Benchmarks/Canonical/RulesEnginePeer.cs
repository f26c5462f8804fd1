using System.Globalization;
using System.Text.Json;
using RulesEngine.Models;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// Microsoft RulesEngine 6.0.1 on the canonical workload, as its README shows and canonical-workload.md §8
/// describes: a workflow JSON (<see cref="WorkflowsJson"/>) with two workflows, <c>LeadFit</c> (12 rules, input
/// <c>p</c> = <see cref="PeerProfile"/>) and <c>LeadEngagement</c> (17 rules, inputs <c>e</c> =
/// <see cref="PeerEvent"/>, <c>p</c>, <c>s</c> = <see cref="PeerLeadState"/>), every rule a
/// <c>LambdaExpression</c> with its points in <c>SuccessEvent</c> and, for the 8 capped rules, the slot in
/// <c>Properties.capSlot</c>. <c>ExecuteAllRulesAsync</c> runs once per lead (fit) and once per event; this thin
/// host wrapper adds the points of the successful rules and records the hits of the capped ones. Capped rules test
/// the cap in their expression (<c>s.UnderCap(slot, e.Ts)</c>), on the state as it was before the event.
/// </summary>
public sealed class RulesEnginePeer
{
    public const string FitWorkflow = "LeadFit";
    public const string EngagementWorkflow = "LeadEngagement";

    private readonly RulesEngine.RulesEngine _engine;
    private readonly Dictionary<string, RuleInfo> _rules = new(StringComparer.Ordinal);

    /// <param name="settings">The engine's settings; null for the library defaults.</param>
    public RulesEnginePeer(ReSettings? settings)
    {
        var workflows = JsonSerializer.Deserialize<Workflow[]>(WorkflowsJson) ?? throw new InvalidOperationException("no workflows");
        _engine = settings is null ? new RulesEngine.RulesEngine(workflows) : new RulesEngine.RulesEngine(workflows, settings);
        foreach (var rule in workflows.SelectMany(wf => wf.Rules))
        {
            int slot = rule.Properties is { } props && props.TryGetValue("capSlot", out object? v) ? Convert.ToInt32(v.ToString(), CultureInfo.InvariantCulture) : -1;
            _rules.Add(rule.RuleName, new RuleInfo(_rules.Count, int.Parse(rule.SuccessEvent, CultureInfo.InvariantCulture), slot));
        }
    }

    /// <summary>The settings of RulesEngine's own benchmark (<c>benchmark/RulesEngineBenchmark</c>).</summary>
    public static ReSettings Tuned => new() { EnableFormattedErrorMessage = false, EnableScopedParams = false };

    /// <summary>The rule names, in workflow order: F01–F12, then E01–E16, E18.</summary>
    public IEnumerable<string> RuleNames => _rules.Keys;

    /// <summary>When set (by <c>--verify</c>), the awards per rule, indexed as <see cref="RuleNames"/>.</summary>
    public int[]? Awards { get; set; }

    /// <summary>The 12 fit rules on one profile: the sum of the points of the rules that succeed.</summary>
    public async ValueTask<int> FitAsync(PeerProfile p)
    {
        var results = await _engine.ExecuteAllRulesAsync(FitWorkflow, new RuleParameter("p", p));
        int points = 0;
        foreach (var r in results)
        {
            if (Succeeded(r) is { } rule)
            {
                points += rule.Points;
            }
        }

        return points;
    }

    /// <summary>The 17 engagement rules on one event: adds the points of the rules that succeed, records capped hits.</summary>
    public async ValueTask ApplyAsync(PeerEvent e, PeerProfile p, PeerLeadState s)
    {
        var results = await _engine.ExecuteAllRulesAsync(
            EngagementWorkflow, new RuleParameter("e", e), new RuleParameter("p", p), new RuleParameter("s", s));
        foreach (var r in results)
        {
            if (Succeeded(r) is { } rule)
            {
                s.Add(rule.Points);
                if (rule.Slot >= 0)
                {
                    s.RecordHit(rule.Slot, e.Ts);
                }
            }
        }
    }

    /// <summary>Every lead's fit, in <c>lead_id</c> order.</summary>
    public async ValueTask<int[]> FitAllAsync(PeerProfile[] profiles)
    {
        var fit = new int[profiles.Length];
        for (int i = 0; i < fit.Length; i++)
        {
            fit[i] = await FitAsync(profiles[i]);
        }

        return fit;
    }

    private RuleInfo? Succeeded(RuleResultTree r)
    {
        // EnableExceptionAsErrorMessage (on by default) turns an exception in an expression into a failed rule:
        // fail loudly instead, it would be a wrong score.
        if (!string.IsNullOrEmpty(r.ExceptionMessage))
        {
            throw new InvalidOperationException($"RulesEngine rule {r.Rule.RuleName}: {r.ExceptionMessage}");
        }

        if (!r.IsSuccess)
        {
            return null;
        }

        var rule = _rules[r.Rule.RuleName];
        if (Awards is { } awards)
        {
            awards[rule.Index]++;
        }

        return rule;
    }

    private readonly record struct RuleInfo(int Index, int Points, int Slot);

    /// <summary>The two workflows (the 29 rules of canonical-workload.md §5).</summary>
    public const string WorkflowsJson = """
        [
          {
            "WorkflowName": "LeadFit",
            "Rules": [
              { "RuleName": "F01_title_vp_director", "SuccessEvent": "15", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Title.Contains(\"VP\") OR p.Title.Contains(\"Director\")" },
              { "RuleName": "F02_title_chief", "SuccessEvent": "20", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Title.Contains(\"Chief\")" },
              { "RuleName": "F03_title_manager", "SuccessEvent": "5", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Title.Contains(\"Manager\")" },
              { "RuleName": "F04_title_junior", "SuccessEvent": "-15", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Title.Contains(\"Intern\") OR p.Title.Contains(\"Student\")" },
              { "RuleName": "F05_size_mid", "SuccessEvent": "10", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Size >= 200 AND p.Size <= 5000" },
              { "RuleName": "F06_size_enterprise", "SuccessEvent": "5", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Size > 5000" },
              { "RuleName": "F07_size_micro", "SuccessEvent": "-5", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Size < 10" },
              { "RuleName": "F08_industry_target", "SuccessEvent": "10", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Industry in (\"software\", \"finance\", \"healthcare\")" },
              { "RuleName": "F09_industry_low_fit", "SuccessEvent": "-5", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Industry in (\"education\", \"government\", \"nonprofit\")" },
              { "RuleName": "F10_free_mail_domain", "SuccessEvent": "-10", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Domain in (\"gmail.com\", \"yahoo.com\", \"hotmail.com\", \"outlook.com\", \"aol.com\", \"icloud.com\", \"mail.com\", \"gmx.com\", \"proton.me\", \"yandex.com\")" },
              { "RuleName": "F11_country_target", "SuccessEvent": "5", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Country in (\"US\", \"CA\", \"GB\", \"DE\", \"AU\")" },
              { "RuleName": "F12_tech_buyer", "SuccessEvent": "5", "RuleExpressionType": "LambdaExpression",
                "Expression": "p.Industry == \"software\" AND (p.Title.Contains(\"Engineer\") OR p.Title.Contains(\"Developer\"))" }
            ]
          },
          {
            "WorkflowName": "LeadEngagement",
            "Rules": [
              { "RuleName": "E01_pricing_view", "SuccessEvent": "10", "Properties": { "capSlot": 0 }, "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"PageView\" AND e.Url.Contains(\"/pricing\") AND s.UnderCap(0, e.Ts)" },
              { "RuleName": "E02_docs_view", "SuccessEvent": "2", "Properties": { "capSlot": 1 }, "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"PageView\" AND e.Url.Contains(\"/docs\") AND s.UnderCap(1, e.Ts)" },
              { "RuleName": "E03_case_study_view", "SuccessEvent": "5", "Properties": { "capSlot": 2 }, "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"PageView\" AND e.Url.Contains(\"/case-studies\") AND s.UnderCap(2, e.Ts)" },
              { "RuleName": "E04_careers_view", "SuccessEvent": "-10", "Properties": { "capSlot": 3 }, "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"PageView\" AND e.Url.Contains(\"/careers\") AND s.UnderCap(3, e.Ts)" },
              { "RuleName": "E05_blog_view", "SuccessEvent": "1", "Properties": { "capSlot": 4 }, "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"PageView\" AND e.Url.Contains(\"/blog\") AND s.UnderCap(4, e.Ts)" },
              { "RuleName": "E06_integrations_view", "SuccessEvent": "3", "Properties": { "capSlot": 5 }, "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"PageView\" AND e.Url.Contains(\"/integrations\") AND s.UnderCap(5, e.Ts)" },
              { "RuleName": "E07_form_submit", "SuccessEvent": "20", "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"FormSubmit\"" },
              { "RuleName": "E08_email_open", "SuccessEvent": "1", "Properties": { "capSlot": 6 }, "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"EmailOpen\" AND s.UnderCap(6, e.Ts)" },
              { "RuleName": "E09_email_click", "SuccessEvent": "3", "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"EmailClick\"" },
              { "RuleName": "E10_webinar_attended", "SuccessEvent": "15", "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"WebinarAttended\"" },
              { "RuleName": "E11_unsubscribe", "SuccessEvent": "-50", "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"Unsubscribe\"" },
              { "RuleName": "E12_demo_request", "SuccessEvent": "40", "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"DemoRequest\"" },
              { "RuleName": "E13_demo_request_large_company", "SuccessEvent": "20", "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"DemoRequest\" AND p.Size >= 1000" },
              { "RuleName": "E14_pricing_view_senior", "SuccessEvent": "5", "Properties": { "capSlot": 7 }, "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"PageView\" AND e.Url.Contains(\"/pricing\") AND (p.Title.Contains(\"VP\") OR p.Title.Contains(\"Director\") OR p.Title.Contains(\"Chief\")) AND s.UnderCap(7, e.Ts)" },
              { "RuleName": "E15_free_mail_form_submit", "SuccessEvent": "-10", "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"FormSubmit\" AND p.Domain in (\"gmail.com\", \"yahoo.com\", \"hotmail.com\", \"outlook.com\", \"aol.com\", \"icloud.com\", \"mail.com\", \"gmx.com\", \"proton.me\", \"yandex.com\")" },
              { "RuleName": "E16_target_industry_webinar", "SuccessEvent": "5", "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"WebinarAttended\" AND p.Industry in (\"software\", \"finance\", \"healthcare\")" },
              { "RuleName": "E18_micro_company_click", "SuccessEvent": "-2", "RuleExpressionType": "LambdaExpression",
                "Expression": "e.Type == \"EmailClick\" AND p.Size < 10" }
            ]
          }
        ]
        """;
}
