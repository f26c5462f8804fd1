using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Output;

namespace LeadScoring.Cli;

/// <summary>
/// The <c>leadscore</c> command tree. Exit codes (<see cref="ExitCodesHelp"/>, also in <c>--help</c> and the README):
/// 0 all good; 1 lines were rejected (any, with <c>--strict</c>; or every line); 2 a usage error or a refused model;
/// 3 an I/O error (a file missing, unreadable or unwritable).
/// </summary>
internal static class LeadScoreCli
{
    /// <summary>All good.</summary>
    public const int Ok = 0;

    /// <summary>Messages were rejected: any of them with <c>--strict</c>, or every one of them.</summary>
    public const int Rejections = 1;

    /// <summary>A usage error (a bad option or value) or a refused model.</summary>
    public const int Usage = 2;

    /// <summary>An I/O error: a file missing, unreadable or unwritable.</summary>
    public const int IoError = 3;

    /// <summary>A bug in the tool (an unexpected exception), said in one line.</summary>
    public const int InternalError = 70;

    /// <summary>The exit codes as <c>--help</c> prints them.</summary>
    public const string ExitCodesHelp =
        "Exit codes: 0 all good; 1 messages were rejected (any, with --strict; or every message read); " +
        "2 usage error or a refused model; 3 I/O error (a file missing, unreadable or unwritable); 70 internal error (a bug).";

    public static int Run(string[] args, CliEnvironment env)
    {
        var root = Build(env);
        var parse = root.Parse(args);
        var config = new InvocationConfiguration { Output = new StreamWriter(env.Stdout) { AutoFlush = true }, Error = env.Stderr };
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                env.Stderr.WriteLine("error: " + error.Message);
            }

            env.Stderr.WriteLine();
            // Usage help of the command that failed, on stderr.
            var path = new List<string>();
            for (var c = parse.CommandResult; c is not null; c = c.Parent as System.CommandLine.Parsing.CommandResult)
            {
                if (c.Command is not RootCommand)
                {
                    path.Insert(0, c.Command.Name);
                }
            }

            path.Add("--help");
            root.Parse(path.ToArray()).Invoke(new InvocationConfiguration { Output = env.Stderr, Error = env.Stderr });
            return Usage;
        }

        config.EnableDefaultExceptionHandler = false;
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A read or write that fails half-way (a disk error, a closed pipe): one line and exit 3, no stack trace.
            env.Stderr.WriteLine("error: " + ex.Message);
            return IoError;
        }
        catch (Exception ex)
        {
            // A bug: one line that names it, never a stack trace on a user's terminal.
            env.Stderr.WriteLine($"error: internal error ({ex.GetType().Name}): {ex.Message}; please report it");
            return InternalError;
        }
    }

    private static RootCommand Build(CliEnvironment env)
    {
        var root = new RootCommand("leadscore: validate scoring models and score Segment message files (https://leadscoring.dev). " + ExitCodesHelp);

        // validate MODEL
        var validateModel = new Argument<FileInfo>("MODEL") { Description = "The scoring-model JSON document." };
        var validate = new Command("validate", "Check a scoring model; print a one-line summary, or every error with its place.") { validateModel };
        validate.SetAction(p => Validate(p.GetValue(validateModel)!, env));
        root.Subcommands.Add(validate);

        // score --model M --events FILE|-
        var model = new Option<FileInfo>("--model", "-m") { Description = "The scoring-model JSON document.", Required = true };
        var events = new Option<string>("--events", "-e") { Description = "Messages: a JSON Lines or {\"batch\": [...]} file, or - for standard input.", Required = true };
        var asOf = new Option<string?>("--as-of") { Description = "Score as of this ISO 8601 instant (default: now). Messages after it do not count." };
        var explain = new Option<bool>("--explain") { Description = "Add each rule's contribution to every lead." };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write the results to this file instead of standard output." };
        var strict = new Option<bool>("--strict") { Description = "Exit with 1 when any message was rejected." };
        var lead = new Option<string?>("--lead") { Description = "Print only this lead (any of its ids)." };
        var score = new Command("score", "Score every lead of a message file (spec section 5): one JSON object per lead, ordered by lead id.")
        {
            model, events, asOf, explain, output, strict, lead,
        };
        score.SetAction(p => Score(
            new ScoreArguments(p.GetValue(model)!, p.GetValue(events)!, p.GetValue(asOf), p.GetValue(explain), p.GetValue(output), p.GetValue(strict), p.GetValue(lead)),
            env));
        root.Subcommands.Add(score);

        // bench --model M --events FILE | bench --generate DIR
        root.Subcommands.Add(BenchCommand.Create(env));

        // backtest, fit, suggest, diff: the model lab (LabCommands.cs)
        LabCommands.AddTo(root, env);

        // schema
        var schema = new Command("schema", "Print the JSON Schema of the scoring-model document.");
        schema.SetAction(_ => Schema(env));
        root.Subcommands.Add(schema);
        return root;
    }

    internal static ModelLoadResult? LoadModel(FileInfo file, CliEnvironment env)
    {
        if (!file.Exists)
        {
            env.Stderr.WriteLine(Directory.Exists(file.FullName) ? $"error: {file.FullName}: is a directory, not a model file" : $"error: {file.FullName}: no such file");
            return null;
        }

        try
        {
            return ScoringModelLoader.LoadFile(file.FullName);
        }
        catch (IOException ex)
        {
            env.Stderr.WriteLine($"error: {file.FullName}: {ex.Message}");
            return null;
        }
        catch (UnauthorizedAccessException ex)
        {
            env.Stderr.WriteLine($"error: {file.FullName}: {ex.Message}");
            return null;
        }
    }

    internal static bool ReportErrors(ModelLoadResult result, FileInfo file, CliEnvironment env)
    {
        if (result.IsValid)
        {
            return false;
        }

        foreach (var error in result.Errors)
        {
            env.Stderr.WriteLine(error.ToString(file.Name));
        }

        env.Stderr.WriteLine($"{file.Name}: the model was refused with {result.Errors.Length} error(s).");
        return true;
    }

    private static int Validate(FileInfo file, CliEnvironment env)
    {
        var result = LoadModel(file, env);
        if (result is null)
        {
            return IoError;
        }

        if (ReportErrors(result, file, env))
        {
            return Usage;
        }

        var m = result.Model!;
        using var w = new StreamWriter(env.Stdout, leaveOpen: true);
        w.WriteLine($"{m.Name} {m.Version}: {Count(m.Scores.Length, "score")}, {Count(m.Rules.Length, "rule")}, {Count(m.Personas.Length, "persona")}, {Count(m.Stages.Length, "stage")}");
        return Ok;
    }

    private static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private static int Schema(CliEnvironment env)
    {
        using var schema = typeof(ScoringModel).Assembly.GetManifestResourceStream("LeadScoring.scoring-model.schema.json");
        if (schema is null)
        {
            env.Stderr.WriteLine("error: the schema is not embedded in this build");
            return Usage;
        }

        schema.CopyTo(env.Stdout);
        env.Stdout.Flush();
        return Ok;
    }

    private sealed record ScoreArguments(FileInfo Model, string Events, string? AsOf, bool Explain, FileInfo? Out, bool Strict, string? Lead);

    private static int Score(ScoreArguments a, CliEnvironment env)
    {
        var loaded = LoadModel(a.Model, env);
        if (loaded is null)
        {
            return IoError;
        }

        if (ReportErrors(loaded, a.Model, env))
        {
            return Usage;
        }

        DateTimeOffset asOf;
        if (a.AsOf is null)
        {
            asOf = env.Time.GetUtcNow();
        }
        else if (MessageParser.TryParseTimestamp(a.AsOf, out long ticks))
        {
            asOf = new DateTimeOffset(ticks, TimeSpan.Zero);
        }
        else
        {
            env.Stderr.WriteLine($"error: --as-of '{a.AsOf}' is not an ISO 8601 instant with an offset or Z, e.g. 2026-11-30T00:00:00Z");
            return Usage;
        }

        Stream input;
        string source;
        long inputLength = -1;
        try
        {
            if (a.Events == "-")
            {
                input = env.OpenStdin();
                source = "<stdin>";
            }
            else
            {
                var info = new FileInfo(a.Events);
                if (!info.Exists)
                {
                    env.Stderr.WriteLine(Directory.Exists(info.FullName) ? $"error: {a.Events}: is a directory, not a message file" : $"error: {a.Events}: no such file");
                    return IoError;
                }

                input = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
                source = info.Name;
                inputLength = info.Length;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            env.Stderr.WriteLine($"error: {a.Events}: {ex.Message}");
            return IoError;
        }

        // Counted messages are kept as their place in the file (or parsed, for standard input), and leads that need a
        // replay (late messages, merges) are replayed once, when they are evaluated.
        using var fileHistory = a.Events == "-" ? null : new FileMessageHistory(Path.GetFullPath(a.Events));
        var engine = new LeadScoringEngine(CompiledModel.Compile(loaded.Model!), new LeadScoringEngineOptions { ReorderHorizon = null, DeferReplays = true }, fileHistory);
        long read = 0, rejected = 0, ignored = 0, future = 0;
        var batch = new LeadMessage[256];
        var outcomes = new ApplyOutcome[batch.Length];
        int pending = 0;
        using (input)
        {
            var progress = env.StderrIsTerminal && inputLength > 8 * 1024 * 1024 ? new ProgressBar(env.Stderr, input, inputLength) : null;
            foreach (var record in MessageReader.Read(input))
            {
                read++;
                var r = record.Result;
                if (r.IsRejected)
                {
                    rejected++;
                    progress?.Clear();
                    env.Stderr.WriteLine($"{source}: {record.Location}: rejected: {r.Error}");
                }
                else if (r.IsIgnored)
                {
                    ignored++;
                }
                else if (r.Message!.TimestampTicks > asOf.UtcTicks)
                {
                    future++;
                }
                else
                {
                    fileHistory?.Expect(r.Message, record.Line, record.BatchIndex);
                    batch[pending++] = r.Message;
                    if (pending == batch.Length)
                    {
                        ApplyBatch();
                    }
                }

                if ((read & 0x3FFF) == 0)
                {
                    progress?.Update(read);
                }
            }

            ApplyBatch();
            progress?.Clear();
        }

        // Messages go to the engine in batches, so it can fetch the next leads' rows while it applies one.
        void ApplyBatch()
        {
            engine.Apply(batch.AsSpan(0, pending), outcomes);
            fileHistory?.ClearExpected();
            Array.Clear(batch, 0, pending);
            pending = 0;
        }

        IEnumerable<LeadResult> results;
        if (a.Lead is not null)
        {
            var one = engine.Evaluate(a.Lead, asOf, a.Explain);
            if (one is null)
            {
                env.Stderr.WriteLine($"error: no lead '{a.Lead}' has a message in {source} up to {LeadResultJson.FormatTime(asOf)}");
                return Usage;
            }

            results = [one];
        }
        else
        {
            results = engine.EvaluateAll(asOf, a.Explain);
        }

        try
        {
            if (a.Out is not null)
            {
                using var file = new FileStream(a.Out.FullName, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                LeadResultJson.WriteLines(file, results);
            }
            else
            {
                var buffered = new BufferedStream(env.Stdout, 1 << 16);
                LeadResultJson.WriteLines(buffered, results);
                buffered.Flush();
            }
        }
        catch (InvalidDataException ex)
        {
            env.Stderr.WriteLine($"error: {a.Events}: {ex.Message}");
            return Usage;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            env.Stderr.WriteLine($"error: {a.Out?.FullName ?? "stdout"}: {ex.Message}");
            return IoError;
        }

        var s = engine.Statistics;
        long applied = s.Applied + s.Reordered + s.BeyondHorizon;
        env.Stderr.WriteLine(
            $"{source}: read {read}, applied {applied}, duplicates {s.Duplicates}, rejected {rejected}, late {s.Late}" +
            (s.BeyondHorizon > 0 ? $" ({s.Reordered} put in their place, {s.BeyondHorizon} beyond the reorder horizon applied as they came)" : s.Late > 0 ? " (applied in their place)" : "") +
            (ignored > 0 ? $", ignored {ignored}" : "") +
            (future > 0 ? $", after --as-of {future}" : "") +
            (RegexLimits.Skipped > 0 ? $", regex tests skipped {RegexLimits.Skipped} (RegexLimits)" : "") +
            $"; {engine.LeadCount} leads");
        // Every line rejected means nothing was scored: a failure even without --strict.
        return rejected > 0 && (a.Strict || rejected == read) ? Rejections : Ok;
    }

    /// <summary>A one-line progress bar on a terminal's stderr, redrawn at most a few times a second.</summary>
    private sealed class ProgressBar(TextWriter stderr, Stream input, long length)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _lastDraw = -1000;
        private bool _drawn;

        public void Update(long messages)
        {
            if (_clock.ElapsedMilliseconds - _lastDraw < 200)
            {
                return;
            }

            _lastDraw = _clock.ElapsedMilliseconds;
            double fraction = length <= 0 ? 0 : Math.Clamp(input.Position / (double)length, 0, 1);
            int filled = (int)(fraction * 30);
            stderr.Write($"\r[{new string('#', filled)}{new string(' ', 30 - filled)}] {fraction,4:P0} {messages:N0} messages");
            _drawn = true;
        }

        public void Clear()
        {
            if (_drawn)
            {
                stderr.Write("\r" + new string(' ', 70) + "\r");
                _drawn = false;
            }
        }
    }
}
