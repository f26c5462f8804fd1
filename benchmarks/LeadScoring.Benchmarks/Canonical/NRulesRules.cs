using NRules.Fluent.Dsl;

namespace LeadScoring.Benchmarks.Canonical;

// The 29 rules of canonical-workload.md §5 for NRules 1.0.4, one fluent-DSL rule class per rule as its README
// shows (loaded by NRulesPeer). Each condition is its own lambda, so NRules shares equal conditions between rules
// in its Rete network (for example the event-type tests). Capped rules test the host state's cap in a condition
// and record the hit in their action.

/// <summary>The "in" lists of §5 (ordinal equality), as the hand-written baseline writes them.</summary>
public static class NRulesLists
{
    public static bool IsTargetIndustry(string industry) => industry is "software" or "finance" or "healthcare";

    public static bool IsFree(string domain) =>
        domain is "gmail.com" or "yahoo.com" or "hotmail.com" or "outlook.com" or "aol.com"
            or "icloud.com" or "mail.com" or "gmx.com" or "proton.me" or "yandex.com";

    public static bool IsSenior(string title) =>
        title.Contains("VP", StringComparison.Ordinal) || title.Contains("Director", StringComparison.Ordinal) || title.Contains("Chief", StringComparison.Ordinal);
}

[Name("F01_title_vp_director")]
public sealed class F01TitleVpDirector : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Title.Contains("VP", StringComparison.Ordinal) || x.Profile.Title.Contains("Director", StringComparison.Ordinal));
        Then().Do(_ => f.Add(15));
    }
}

[Name("F02_title_chief")]
public sealed class F02TitleChief : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Title.Contains("Chief", StringComparison.Ordinal));
        Then().Do(_ => f.Add(20));
    }
}

[Name("F03_title_manager")]
public sealed class F03TitleManager : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Title.Contains("Manager", StringComparison.Ordinal));
        Then().Do(_ => f.Add(5));
    }
}

[Name("F04_title_junior")]
public sealed class F04TitleJunior : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Title.Contains("Intern", StringComparison.Ordinal) || x.Profile.Title.Contains("Student", StringComparison.Ordinal));
        Then().Do(_ => f.Add(-15));
    }
}

[Name("F05_size_mid")]
public sealed class F05SizeMid : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Size >= 200 && x.Profile.Size <= 5000);
        Then().Do(_ => f.Add(10));
    }
}

[Name("F06_size_enterprise")]
public sealed class F06SizeEnterprise : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Size > 5000);
        Then().Do(_ => f.Add(5));
    }
}

[Name("F07_size_micro")]
public sealed class F07SizeMicro : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Size < 10);
        Then().Do(_ => f.Add(-5));
    }
}

[Name("F08_industry_target")]
public sealed class F08IndustryTarget : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => NRulesLists.IsTargetIndustry(x.Profile.Industry));
        Then().Do(_ => f.Add(10));
    }
}

[Name("F09_industry_low_fit")]
public sealed class F09IndustryLowFit : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Industry == "education" || x.Profile.Industry == "government" || x.Profile.Industry == "nonprofit");
        Then().Do(_ => f.Add(-5));
    }
}

[Name("F10_free_mail_domain")]
public sealed class F10FreeMailDomain : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => NRulesLists.IsFree(x.Profile.Domain));
        Then().Do(_ => f.Add(-10));
    }
}

[Name("F11_country_target")]
public sealed class F11CountryTarget : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Country == "US" || x.Profile.Country == "CA" || x.Profile.Country == "GB" || x.Profile.Country == "DE" || x.Profile.Country == "AU");
        Then().Do(_ => f.Add(5));
    }
}

[Name("F12_tech_buyer")]
public sealed class F12TechBuyer : Rule
{
    public override void Define()
    {
        FitFact f = null!;
        When().Match(
                () => f,
                x => x.Profile.Industry == "software",
                x => x.Profile.Title.Contains("Engineer", StringComparison.Ordinal) || x.Profile.Title.Contains("Developer", StringComparison.Ordinal));
        Then().Do(_ => f.Add(5));
    }
}

[Name("E01_pricing_view")]
public sealed class E01PricingView : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.PageView,
                x => x.Event.Url!.Contains("/pricing", StringComparison.Ordinal),
                x => x.State.UnderCap(0, x.Event.Ts));
        Then()
            .Do(_ => f.State.Add(10))
            .Do(_ => f.State.RecordHit(0, f.Event.Ts));
    }
}

[Name("E02_docs_view")]
public sealed class E02DocsView : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.PageView,
                x => x.Event.Url!.Contains("/docs", StringComparison.Ordinal),
                x => x.State.UnderCap(1, x.Event.Ts));
        Then()
            .Do(_ => f.State.Add(2))
            .Do(_ => f.State.RecordHit(1, f.Event.Ts));
    }
}

[Name("E03_case_study_view")]
public sealed class E03CaseStudyView : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.PageView,
                x => x.Event.Url!.Contains("/case-studies", StringComparison.Ordinal),
                x => x.State.UnderCap(2, x.Event.Ts));
        Then()
            .Do(_ => f.State.Add(5))
            .Do(_ => f.State.RecordHit(2, f.Event.Ts));
    }
}

[Name("E04_careers_view")]
public sealed class E04CareersView : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.PageView,
                x => x.Event.Url!.Contains("/careers", StringComparison.Ordinal),
                x => x.State.UnderCap(3, x.Event.Ts));
        Then()
            .Do(_ => f.State.Add(-10))
            .Do(_ => f.State.RecordHit(3, f.Event.Ts));
    }
}

[Name("E05_blog_view")]
public sealed class E05BlogView : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.PageView,
                x => x.Event.Url!.Contains("/blog", StringComparison.Ordinal),
                x => x.State.UnderCap(4, x.Event.Ts));
        Then()
            .Do(_ => f.State.Add(1))
            .Do(_ => f.State.RecordHit(4, f.Event.Ts));
    }
}

[Name("E06_integrations_view")]
public sealed class E06IntegrationsView : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.PageView,
                x => x.Event.Url!.Contains("/integrations", StringComparison.Ordinal),
                x => x.State.UnderCap(5, x.Event.Ts));
        Then()
            .Do(_ => f.State.Add(3))
            .Do(_ => f.State.RecordHit(5, f.Event.Ts));
    }
}

[Name("E07_form_submit")]
public sealed class E07FormSubmit : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.FormSubmit);
        Then().Do(_ => f.State.Add(20));
    }
}

[Name("E08_email_open")]
public sealed class E08EmailOpen : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.EmailOpen,
                x => x.State.UnderCap(6, x.Event.Ts));
        Then()
            .Do(_ => f.State.Add(1))
            .Do(_ => f.State.RecordHit(6, f.Event.Ts));
    }
}

[Name("E09_email_click")]
public sealed class E09EmailClick : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.EmailClick);
        Then().Do(_ => f.State.Add(3));
    }
}

[Name("E10_webinar_attended")]
public sealed class E10WebinarAttended : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.WebinarAttended);
        Then().Do(_ => f.State.Add(15));
    }
}

[Name("E11_unsubscribe")]
public sealed class E11Unsubscribe : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.Unsubscribe);
        Then().Do(_ => f.State.Add(-50));
    }
}

[Name("E12_demo_request")]
public sealed class E12DemoRequest : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.DemoRequest);
        Then().Do(_ => f.State.Add(40));
    }
}

[Name("E13_demo_request_large_company")]
public sealed class E13DemoRequestLargeCompany : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.DemoRequest,
                x => x.Profile.Size >= 1000);
        Then().Do(_ => f.State.Add(20));
    }
}

[Name("E14_pricing_view_senior")]
public sealed class E14PricingViewSenior : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.PageView,
                x => x.Event.Url!.Contains("/pricing", StringComparison.Ordinal),
                x => NRulesLists.IsSenior(x.Profile.Title),
                x => x.State.UnderCap(7, x.Event.Ts));
        Then()
            .Do(_ => f.State.Add(5))
            .Do(_ => f.State.RecordHit(7, f.Event.Ts));
    }
}

[Name("E15_free_mail_form_submit")]
public sealed class E15FreeMailFormSubmit : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.FormSubmit,
                x => NRulesLists.IsFree(x.Profile.Domain));
        Then().Do(_ => f.State.Add(-10));
    }
}

[Name("E16_target_industry_webinar")]
public sealed class E16TargetIndustryWebinar : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.WebinarAttended,
                x => NRulesLists.IsTargetIndustry(x.Profile.Industry));
        Then().Do(_ => f.State.Add(5));
    }
}

[Name("E18_micro_company_click")]
public sealed class E18MicroCompanyClick : Rule
{
    public override void Define()
    {
        EngagementFact f = null!;
        When().Match(
                () => f,
                x => x.Event.Type == EventType.EmailClick,
                x => x.Profile.Size < 10);
        Then().Do(_ => f.State.Add(-2));
    }
}
