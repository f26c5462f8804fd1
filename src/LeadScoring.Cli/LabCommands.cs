using System.CommandLine;
using System.Globalization;
using System.Text;
using LeadScoring.Lab;
using LeadScoring.Messages;
using LeadScoring.Model;
using Spectre.Console;

namespace LeadScoring.Cli;

/// <summary>
/// The model lab's commands: <c>backtest</c>, <c>fit</c>, <c>suggest</c> and <c>diff</c>. Terminal tables with
/// Spectre.Console; <c>--json</c> and <c>--report</c> for machines and people. Every result is computed before any file
/// is written, and files are written whole (a temporary file moved into place), so bad input leaves nothing behind.
/// </summary>
internal static class LabCommands
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void AddTo(RootCommand root, CliEnvironment env)
    {
        root.Subcommands.Add(Backtest(env));
        root.Subcommands.Add(Fit(env));
        root.Subcommands.Add(Suggest(env));
        root.Subcommands.Add(Diff(env));
    }

    private sealed class Common
    {
        public Option<FileInfo> Model { get; } = new("--model", "-m") { Description = "The scoring-model JSON document.", Required = true };

        public Option<FileInfo> Events { get; } = new("--events", "-e") { Description = "Messages: a JSON Lines or {\"batch\": [...]} file, outcome events included.", Required = true };

        public Option<string> AsOf { get; } = new("--as-of") { Description = "Score as of this ISO 8601 instant T; only messages up to T score, outcomes are looked for after it.", Required = true };

        public Option<string?> Outcome { get; } = new("--outcome") { Description = "The track event of a conversion (default: the model's \"outcome\")." };

        public Option<double?> WindowDays { get; } = new("--window-days") { Description = "A lead is positive when the outcome happens within this many days after T (default: the model's, else 90)." };

        public Option<string?> Score { get; } = new("--score") { Description = "The score that ranks the leads (default: total, else the model's first score)." };

        public Option<FileInfo?> Report { get; } = new("--report") { Description = "Also write a self-contained HTML report to this file." };

        public Option<bool> Json { get; } = new("--json") { Description = "Print all results as one JSON object instead of tables." };
    }

    // ------------------------------------------------------------------------------------------------ backtest

    private static Command Backtest(CliEnvironment env)
    {
        var o = new Common();
        var cmd = new Command("backtest", "How well does a model rank the leads that later convert? AUC, lift by decile, conversion by grade, stage, persona and rule, and a black box's AUC for comparison.")
        {
            o.Model, o.Events, o.AsOf, o.Outcome, o.WindowDays, o.Score, o.Report, o.Json,
        };
        cmd.SetAction(p => Guard(env, () =>
        {
            var (model, _) = LoadModel(p.GetValue(o.Model)!);
            var asOf = ParseAsOf(p.GetValue(o.AsOf)!);
            var outcome = Outcome(model, p.GetValue(o.Outcome), p.GetValue(o.WindowDays));
            var messages = ReadMessages(p.GetValue(o.Events)!, env);
            string score = p.GetValue(o.Score) ?? ModelDiff.DefaultScore(model);
            var data = LabDataset.Build(model, messages, asOf, outcome);
            var result = Backtester.Run(data, score);
            var files = new List<(FileInfo, string)>();
            if (p.GetValue(o.Report) is { } report)
            {
                files.Add((report, LabReport.Backtest(result)));
            }

            WriteAll(files);
            if (p.GetValue(o.Json))
            {
                WriteText(env, LabJson.Backtest(result) + "\n");
            }
            else
            {
                var console = Console(env);
                PrintBacktest(console, result);
            }

            return LeadScoreCli.Ok;
        }));
        return cmd;
    }

    private static void PrintBacktest(IAnsiConsole console, BacktestResult r)
    {
        console.WriteLine($"{r.Model}: score '{r.Score}' as of {Time(r.AsOf)}, outcome '{r.Outcome.Event}' within {Num(r.Outcome.WithinDays)} days");
        console.WriteLine($"leads {r.Leads}, converted {r.Positives} ({Pct(r.BaseRate)}), left out (converted before) {r.ConvertedBefore}");
        console.WriteLine($"AUC {F3(r.Auc)} (95% CI {F3(r.AucLow)}-{F3(r.AucHigh)}); black box (FastTree on the same rules, 5-fold CV) {F3(r.HeadroomAuc)}" + (r.Mqls >= 0 ? $"; MQLs {r.Mqls}" : ""));
        console.Write(GroupTable("Decile", r.Deciles));
        if (!r.ByGrade.IsEmpty)
        {
            console.Write(GroupTable("Grade", r.ByGrade));
        }

        if (!r.ByStage.IsEmpty)
        {
            console.Write(GroupTable("Stage", r.ByStage));
        }

        if (!r.ByPersona.IsEmpty)
        {
            console.Write(GroupTable("Persona", r.ByPersona));
        }

        var t = new Table().Title("Rules");
        t.AddColumns("Rule", "Score", "Points", "Coverage", "Conv. with", "without", "Lift");
        foreach (var s in r.Rules)
        {
            t.AddRow(Markup.Escape(s.Rule), Markup.Escape(s.Score), Num(s.Points), Pct(s.Coverage), Pct(s.RateWith), Pct(s.RateWithout), double.IsNaN(s.Lift) ? "-" : s.Lift.ToString("0.00", Inv) + "x");
        }

        RightAlign(t, 2);
        console.Write(t);
    }

    private static Table GroupTable(string title, IEnumerable<GroupRate> groups)
    {
        var t = new Table().Title(title);
        t.AddColumns(title, "Leads", "Converted", "Rate", "Lift", "Scores");
        foreach (var g in groups)
        {
            t.AddRow(Markup.Escape(g.Key), g.Leads.ToString(Inv), g.Positives.ToString(Inv), Pct(g.Rate), double.IsNaN(g.Lift) ? "-" : g.Lift.ToString("0.00", Inv) + "x", $"{Num1(g.MinScore)} - {Num1(g.MaxScore)}");
        }

        RightAlign(t, 1);
        return t;
    }

    // ------------------------------------------------------------------------------------------------ fit

    private static Command Fit(CliEnvironment env)
    {
        var o = new Common();
        var output = new Option<FileInfo>("--out", "-o") { Description = "Write the fitted model here (the same document with new points and descriptions).", Required = true };
        var force = new Option<bool>("--force") { Description = $"Fit even with fewer than {PointsFitter.MinimumPerClass} positives or negatives." };
        var pdo = new Option<double>("--points-to-double") { Description = "The scale: this many points double the odds of converting.", DefaultValueFactory = _ => 20 };
        var cmd = new Command("fit", "Fit the points of a model's rules to won and lost leads: regularised logistic regression (L1 by cross-validation), points on a 'P points double the odds' scale.")
        {
            o.Model, o.Events, o.AsOf, o.Outcome, o.WindowDays, o.Score, output, o.Report, force, pdo,
        };
        cmd.SetAction(p => Guard(env, () =>
        {
            var (model, text) = LoadModel(p.GetValue(o.Model)!);
            var asOf = ParseAsOf(p.GetValue(o.AsOf)!);
            var outcome = Outcome(model, p.GetValue(o.Outcome), p.GetValue(o.WindowDays));
            double scale = p.GetValue(pdo);
            if (!(scale > 0) || !double.IsFinite(scale))
            {
                throw new LabException($"--points-to-double must be a number greater than 0, not {Num(scale)}");
            }

            var messages = ReadMessages(p.GetValue(o.Events)!, env);
            string score = p.GetValue(o.Score) ?? ModelDiff.DefaultScore(model);
            var data = LabDataset.Build(model, messages, asOf, outcome);
            var fit = PointsFitter.Fit(data, text, score, new FitOptions { Force = p.GetValue(force), PointsToDoubleOdds = scale });
            var before = Backtester.Run(data, score, headroom: false);
            var after = Backtester.Run(LabDataset.Build(fit.Model, messages, asOf, outcome), score, headroom: p.GetValue(o.Report) is not null);
            var files = new List<(FileInfo, string)> { (p.GetValue(output)!, fit.Json) };
            if (p.GetValue(o.Report) is { } report)
            {
                files.Add((report, LabReport.Fit(fit, before, after)));
            }

            WriteAll(files);
            var console = Console(env);
            console.WriteLine($"fitted {before.Model} on {fit.Leads} leads as of {Time(asOf)}, {fit.Positives} converted ('{outcome.Event}' within {Num(outcome.WithinDays)} days)");
            console.WriteLine($"cross-validated AUC {F3(fit.CrossValidatedAuc)} (L1 {Num(fit.L1)}); AUC on these leads {F3(before.Auc)} before, {F3(after.Auc)} after" +
                (before.Mqls >= 0 ? $"; MQLs {before.Mqls} before, {after.Mqls} after" : ""));
            var t = new Table().Title("Points");
            t.AddColumns("Rule", "Score", "Old", "New", "Note");
            foreach (var r in fit.Rules)
            {
                t.AddRow(Markup.Escape(r.Rule), Markup.Escape(r.Score), Num(r.OldPoints), Num(r.NewPoints), Markup.Escape(r.Note ?? ""));
            }

            RightAlign(t, 2, 3);
            console.Write(t);
            foreach (var note in fit.Notes)
            {
                console.WriteLine(note);
            }

            env.Stderr.WriteLine($"wrote {p.GetValue(output)!.FullName}");
            return LeadScoreCli.Ok;
        }));
        return cmd;
    }

    // ------------------------------------------------------------------------------------------------ suggest

    private static Command Suggest(CliEnvironment env)
    {
        var o = new Common();
        o.Outcome.Required = true;
        var output = new Option<FileInfo>("--out", "-o") { Description = "Write the candidate model here (every rule with 0 points, for fit).", Required = true };
        var minShare = new Option<double>("--min-share") { Description = "A value, event or path becomes a candidate when at least this share of leads has it.", DefaultValueFactory = _ => 0.02 };
        var buckets = new Option<int>("--buckets") { Description = "Quantile buckets of a numeric trait.", DefaultValueFactory = _ => 5 };
        var cmd = new Command("suggest", "Propose candidate rules from the data (frequent trait values, numeric buckets, frequent events and page paths); then give them points with fit.")
        {
            o.Events, o.AsOf, o.Outcome, o.WindowDays, output, minShare, buckets,
        };
        cmd.SetAction(p => Guard(env, () =>
        {
            var asOf = ParseAsOf(p.GetValue(o.AsOf)!);
            double window = p.GetValue(o.WindowDays) ?? 90;
            CheckWindow(window);
            if (p.GetValue(minShare) is var share && !(share > 0 && share < 1))
            {
                throw new LabException($"--min-share must be between 0 and 1, not {Num(share)}");
            }

            if (p.GetValue(buckets) is < 2 or > 20)
            {
                throw new LabException("--buckets must be from 2 to 20");
            }

            var messages = ReadMessages(p.GetValue(o.Events)!, env);
            var result = RuleSuggester.Suggest(messages, asOf, new OutcomeSpec(p.GetValue(o.Outcome)!, window), new SuggestOptions { MinShare = share, Buckets = p.GetValue(buckets) });
            WriteAll([(p.GetValue(output)!, result.Json)]);
            var console = Console(env);
            console.WriteLine($"{result.Model.Rules.Length} candidate rules from {result.Leads} leads up to {Time(asOf)}");
            var t = new Table().Title("Candidates");
            t.AddColumns("Rule", "Score", "Why");
            foreach (var r in result.Model.Rules)
            {
                t.AddRow(Markup.Escape(r.Id), Markup.Escape(r.Score), Markup.Escape(r.Description ?? ""));
            }

            console.Write(t);
            env.Stderr.WriteLine($"wrote {p.GetValue(output)!.FullName}; give the rules points with: leadscore fit --model {p.GetValue(output)!.Name} --events ... --as-of ... --out fitted.json");
            return LeadScoreCli.Ok;
        }));
        return cmd;
    }

    // ------------------------------------------------------------------------------------------------ diff

    private static Command Diff(CliEnvironment env)
    {
        var o = new Common();
        var against = new Option<FileInfo>("--against") { Description = "The changed model, compared with --model.", Required = true };
        var cmd = new Command("diff", "What a model change does before it goes live: leads whose grade or stage changes, MQLs gained and lost, each score's shift, the points each rule moves.")
        {
            o.Model, against, o.Events, o.AsOf, o.Outcome, o.WindowDays, o.Score, o.Report, o.Json,
        };
        cmd.SetAction(p => Guard(env, () =>
        {
            var (a, _) = LoadModel(p.GetValue(o.Model)!);
            var (b, _) = LoadModel(p.GetValue(against)!);
            var asOf = ParseAsOf(p.GetValue(o.AsOf)!);
            OutcomeSpec? outcome = p.GetValue(o.Outcome) is not null || a.Outcome is not null ? Outcome(a, p.GetValue(o.Outcome), p.GetValue(o.WindowDays)) : null;
            var messages = ReadMessages(p.GetValue(o.Events)!, env);
            var diff = ModelDiff.Run(a, b, messages, asOf, outcome, p.GetValue(o.Score));
            var files = new List<(FileInfo, string)>();
            if (p.GetValue(o.Report) is { } report)
            {
                files.Add((report, LabReport.Diff(diff)));
            }

            WriteAll(files);
            if (p.GetValue(o.Json))
            {
                WriteText(env, LabJson.Diff(diff) + "\n");
                return LeadScoreCli.Ok;
            }

            var console = Console(env);
            console.WriteLine($"{diff.ModelA} -> {diff.ModelB} as of {Time(asOf)}: {diff.Changed.Length} of {diff.Leads} leads change; grade changes {diff.GradeChanges}, stage changes {diff.StageChanges}");
            console.WriteLine($"MQLs {Mql(diff.MqlsA)} -> {Mql(diff.MqlsB)}: gained {diff.MqlsGained.Length}, lost {diff.MqlsLost.Length}");
            if (diff.BacktestA is { } ba && diff.BacktestB is { } bb)
            {
                console.WriteLine($"AUC ('{ba.Outcome.Event}' within {Num(ba.Outcome.WithinDays)} days, score '{ba.Score}'): A {F3(ba.Auc)}, B {F3(bb.Auc)}");
            }

            var shifts = new Table().Title("Scores");
            shifts.AddColumns("Score", "Mean A", "Mean B", "Median A", "Median B", "p90 A", "p90 B");
            foreach (var s in diff.Shifts)
            {
                shifts.AddRow(Markup.Escape(s.Score), Num1(s.MeanA), Num1(s.MeanB), Num1(s.QuantilesA[2]), Num1(s.QuantilesB[2]), Num1(s.QuantilesA[4]), Num1(s.QuantilesB[4]));
            }

            RightAlign(shifts, 1, 2, 3, 4, 5, 6);
            console.Write(shifts);
            var rules = new Table().Title("Rules");
            rules.AddColumns("Rule", "Points A", "Points B", "Leads A", "Leads B", "Points moved");
            foreach (var r in diff.Rules.Where(r => r.Moved != 0 || r.PointsA != r.PointsB))
            {
                rules.AddRow(Markup.Escape(r.Rule), r.PointsA is { } pa ? Num(pa) : "-", r.PointsB is { } pb ? Num(pb) : "-", r.LeadsA.ToString(Inv), r.LeadsB.ToString(Inv), Num1(r.Moved));
            }

            RightAlign(rules, 1, 2, 3, 4, 5);
            console.Write(rules);
            var leads = new Table().Title("Leads that change (first 50)");
            leads.AddColumns("Lead", "Grade", "Stage");
            foreach (var c in diff.Changed.Take(50))
            {
                leads.AddRow(Markup.Escape(c.LeadId), Markup.Escape(Arrow(c.GradeA, c.GradeB)), Markup.Escape(Arrow(c.StageA, c.StageB)));
            }

            console.Write(leads);
            return LeadScoreCli.Ok;
        }));
        return cmd;
    }

    // ------------------------------------------------------------------------------------------------ shared

    private static int Guard(CliEnvironment env, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (LabException ex)
        {
            env.Stderr.WriteLine("error: " + ex.Message);
            return LeadScoreCli.Usage;
        }
        catch (ModelValidationException ex)
        {
            env.Stderr.WriteLine(ex.Message);
            return LeadScoreCli.Usage;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            env.Stderr.WriteLine("error: " + ex.Message);
            return LeadScoreCli.Usage;
        }
    }

    private static (ScoringModel Model, string Text) LoadModel(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new LabException(Directory.Exists(file.FullName) ? $"{file.FullName}: is a directory, not a model file" : $"{file.FullName}: no such file");
        }

        string text = File.ReadAllText(file.FullName);
        var result = ScoringModelLoader.Load(Encoding.UTF8.GetBytes(text));
        if (!result.IsValid)
        {
            throw new ModelValidationException(result.Errors, file.Name);
        }

        return (result.Model!, text);
    }

    private static DateTimeOffset ParseAsOf(string text) =>
        MessageParser.TryParseTimestamp(text, out long ticks)
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : throw new LabException($"--as-of '{text}' is not an ISO 8601 instant with an offset or Z, e.g. 2026-11-30T00:00:00Z");

    private static OutcomeSpec Outcome(ScoringModel model, string? name, double? window)
    {
        string? ev = name ?? model.Outcome?.Event;
        if (string.IsNullOrWhiteSpace(ev))
        {
            throw new LabException("no outcome: pass --outcome NAME (the track event of a conversion) or set \"outcome\": {\"event\": NAME} in the model");
        }

        double days = window ?? (name is null || string.Equals(name, model.Outcome?.Event, StringComparison.OrdinalIgnoreCase) ? model.Outcome?.WithinDays : null) ?? 90;
        CheckWindow(days);
        return new OutcomeSpec(ev, days);
    }

    private static void CheckWindow(double days)
    {
        if (!(days > 0) || !double.IsFinite(days))
        {
            throw new LabException($"--window-days must be a number of days greater than 0, not {Num(days)}");
        }
    }

    private static LabMessages ReadMessages(FileInfo file, CliEnvironment env)
    {
        if (!file.Exists)
        {
            throw new LabException(Directory.Exists(file.FullName) ? $"{file.FullName}: is a directory, not a message file" : $"{file.FullName}: no such file");
        }

        var messages = LabMessages.ReadFile(file.FullName);
        foreach (var r in messages.Rejections.Take(20))
        {
            env.Stderr.WriteLine($"{file.Name}: {r}");
        }

        if (messages.Rejections.Length > 20)
        {
            env.Stderr.WriteLine($"{file.Name}: ... and {messages.Rejections.Length - 20} more rejected messages");
        }

        return messages;
    }

    /// <summary>Writes every file whole: each to a temporary file beside it first, then all moved into place.</summary>
    private static void WriteAll(IReadOnlyList<(FileInfo File, string Text)> files)
    {
        var temps = new List<(string Temp, string Target)>();
        try
        {
            foreach (var (file, text) in files)
            {
                string temp = Path.Combine(file.DirectoryName ?? ".", $".{file.Name}.{Environment.ProcessId}.tmp");
                temps.Add((temp, file.FullName));
                File.WriteAllText(temp, text, new UTF8Encoding(false));
            }

            foreach (var (temp, target) in temps)
            {
                File.Move(temp, target, overwrite: true);
            }
        }
        finally
        {
            foreach (var (temp, _) in temps)
            {
                if (File.Exists(temp))
                {
                    File.Delete(temp);
                }
            }
        }
    }

    private static void WriteText(CliEnvironment env, string text)
    {
        var bytes = new UTF8Encoding(false).GetBytes(text);
        env.Stdout.Write(bytes);
        env.Stdout.Flush();
    }

    private static IAnsiConsole Console(CliEnvironment env)
    {
        var writer = new StreamWriter(env.Stdout, new UTF8Encoding(false), 1 << 12, leaveOpen: true) { AutoFlush = true };
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 140;
        return console;
    }

    private static void RightAlign(Table t, params int[] columns)
    {
        foreach (int c in columns)
        {
            t.Columns[c].RightAligned();
        }
    }

    private static string Arrow(string? a, string? b) => a == b ? a ?? "-" : $"{a ?? "-"} -> {b ?? "-"}";

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", Inv);

    private static string F3(double v) => double.IsNaN(v) ? "-" : v.ToString("0.000", Inv);

    private static string Num(double v) => v.ToString("0.####", Inv);

    private static string Num1(double v) => double.IsNaN(v) ? "-" : v.ToString("0.#", Inv);

    private static string Pct(double v) => double.IsNaN(v) ? "-" : v.ToString("0.0%", Inv);

    private static string Mql(int n) => n < 0 ? "-" : n.ToString(Inv);
}
