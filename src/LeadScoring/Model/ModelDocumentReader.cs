using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using LeadScoring.Json;

namespace LeadScoring.Model;

/// <summary>
/// Turns a located JSON tree into a <see cref="ScoringModel"/>, collecting every error (spec section 4)
/// instead of stopping at the first. The structural pass reads each object with a closed set of keys;
/// the cross-reference pass then checks names, cycles and the fields each part may use.
/// </summary>
internal sealed class ModelDocumentReader
{
    private static readonly string[] OperatorNames =
        ["eq", "ne", "in", "notIn", "contains", "notContains", "containsAny", "startsWith", "startsWithAny",
         "endsWith", "endsWithAny", "gt", "gte", "lt", "lte", "between", "exists", "notExists", "matches"];

    private readonly ModelLoadOptions _options;
    private readonly List<(int Offset, ModelError Error)> _errors = [];

    private ModelDocumentReader(ModelLoadOptions options) => _options = options;

    public static ModelLoadResult Read(ReadOnlySpan<byte> utf8, ModelLoadOptions options)
    {
        if (utf8.Length > options.MaxDocumentBytes)
        {
            return new ModelLoadResult(null, [new ModelError("$", $"the document is larger than {options.MaxDocumentBytes} bytes", 1, 1)]);
        }

        // Skip a UTF-8 byte order mark (editors on Windows write one) before mapping offsets to lines and columns.
        if (utf8.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8 = utf8[3..];
        }

        var map = new LineMap(utf8);

        JNode root;
        try
        {
            root = LocatedJsonReader.Parse(utf8, options);
        }
        catch (LocatedJsonException ex)
        {
            var (line, col) = map.Locate(ex.Offset);
            return new ModelLoadResult(null, [new ModelError("$", ex.Message, line, col)]);
        }

        var reader = new ModelDocumentReader(options);
        var model = reader.ReadModel(root);
        if (reader._errors.Count == 0 && model is not null)
        {
            return new ModelLoadResult(model, []);
        }

        var errors = reader._errors
            .OrderBy(e => e.Offset)
            .Select(e =>
            {
                var (line, col) = map.Locate(e.Offset);
                return e.Error with { Line = line, Column = col };
            })
            .ToImmutableArray();
        return new ModelLoadResult(null, errors);
    }

    private void Error(JNode at, string path, string message) => _errors.Add((at.Offset, new ModelError(path, message)));

    private void Error(int offset, string path, string message) => _errors.Add((offset, new ModelError(path, message)));

    // ---------------------------------------------------------------- structure

    /// <summary>Reads an object's keys against a closed list; reports unknown and duplicate keys.</summary>
    private Dictionary<string, (JNode Node, int KeyOffset)>? Object(JNode node, string path, string what, string[] known, string[] required, bool allowSchema = false)
    {
        if (node.Kind != JKind.Object)
        {
            Error(node, path, $"{what} must be an object, not {node.KindName}");
            return null;
        }

        var result = new Dictionary<string, (JNode, int)>(StringComparer.Ordinal);
        foreach (var p in node.Properties!)
        {
            if (allowSchema && p.Name == "$schema")
            {
                if (p.Value.Kind != JKind.String)
                {
                    Error(p.Value, path + ".$schema", "$schema must be a string");
                }

                continue;
            }

            if (Array.IndexOf(known, p.Name) < 0)
            {
                string hint = Suggest(p.Name, known) is { } s ? $"; did you mean '{s}'?" : $" (known keys: {string.Join(", ", known)})";
                Error(p.Offset, PathOf(path, p.Name), $"{what}: unknown key '{p.Name}'{hint}");
                continue;
            }

            if (!result.TryAdd(p.Name, (p.Value, p.Offset)))
            {
                Error(p.Offset, PathOf(path, p.Name), $"{what}: key '{p.Name}' appears twice");
            }
        }

        foreach (var r in required)
        {
            if (!result.ContainsKey(r))
            {
                Error(node, path, $"{what}: '{r}' is required");
            }
        }

        return result;
    }

    private static string PathOf(string parent, string key) =>
        key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '$')
            ? parent + "." + key
            : parent + "['" + key.Replace("'", "\\'", StringComparison.Ordinal) + "']";

    private string? String(Dictionary<string, (JNode Node, int KeyOffset)> o, string key, string path, string what, bool nonEmpty = true)
    {
        if (!o.TryGetValue(key, out var v))
        {
            return null;
        }

        if (v.Node.Kind != JKind.String)
        {
            Error(v.Node, PathOf(path, key), $"{what}: '{key}' must be a string, not {v.Node.KindName}");
            return null;
        }

        if (nonEmpty && string.IsNullOrWhiteSpace(v.Node.Text))
        {
            Error(v.Node, PathOf(path, key), $"{what}: '{key}' must not be empty");
            return null;
        }

        return v.Node.Text;
    }

    private double? Number(Dictionary<string, (JNode Node, int KeyOffset)> o, string key, string path, string what, bool positive = false)
    {
        if (!o.TryGetValue(key, out var v))
        {
            return null;
        }

        return Number(v.Node, PathOf(path, key), $"{what}: '{key}'", positive);
    }

    private double? Number(JNode node, string path, string what, bool positive = false)
    {
        if (node.Kind != JKind.Number)
        {
            Error(node, path, $"{what} must be a number, not {node.KindName}");
            return null;
        }

        if (!double.IsFinite(node.Number))
        {
            Error(node, path, $"{what} must be a finite number");
            return null;
        }

        if (positive && node.Number <= 0)
        {
            Error(node, path, $"{what} must be greater than 0, not {Fmt(node.Number)}");
            return null;
        }

        return node.Number;
    }

    private int? Count(Dictionary<string, (JNode Node, int KeyOffset)> o, string key, string path, string what)
    {
        var n = Number(o, key, path, what);
        if (n is null)
        {
            return null;
        }

        var node = o[key].Node;
        if (n < 1)
        {
            Error(node, PathOf(path, key), $"{what}: '{key}' must be at least 1, not {Fmt(n.Value)}");
            return null;
        }

        if (n != Math.Floor(n.Value) || n > int.MaxValue)
        {
            Error(node, PathOf(path, key), $"{what}: '{key}' must be a whole number, not {Fmt(n.Value)}");
            return null;
        }

        if (n > MaxCount)
        {
            // Issue 14: a count the engine cannot keep a window for is refused here, not at scoring time.
            Error(node, PathOf(path, key), $"{what}: '{key}' must be at most {MaxCount}, not {Fmt(n.Value)}");
            return null;
        }

        return (int)n.Value;
    }

    /// <summary>The optional top-level <c>outcome</c>: <c>{"event": NAME, "withinDays": N}</c> (model lab).</summary>
    private OutcomeDefinition? ReadOutcome(JNode node, string path)
    {
        var o = Object(node, path, "the outcome", ["event", "withinDays"], ["event"]);
        if (o is null)
        {
            return null;
        }

        string? name = String(o, "event", path, "the outcome");
        double? within = Number(o, "withinDays", path, "the outcome", positive: true);
        return name is null ? null : new OutcomeDefinition(name, within ?? 90);
    }

    /// <summary>The largest <c>limit.count</c> and <c>after.count</c> accepted (a rule keeps up to that many award times per lead).</summary>
    internal const int MaxCount = 10_000;

    private static string Fmt(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- model

    private sealed class Draft
    {
        public List<(ScoreDefinition Score, string Path, JNode Node)> Scores = [];
        /// <summary>Every rule's id and score as written, even where other parts of the rule are invalid.</summary>
        public List<(string? Id, string? Score, string Path, Dictionary<string, (JNode Node, int KeyOffset)> Keys)> RuleRefs = [];
        public List<(string Path, JNode Node, FieldCondition Condition, Scope Scope, string Owner)> Conditions = [];
    }

    private enum Scope
    {
        TraitRule,
        EventRule,
        Persona,
        Stage,
    }

    private readonly Draft _draft = new();

    private ScoringModel? ReadModel(JNode root)
    {
        var o = Object(root, "$", "the model", ["name", "version", "description", "scores", "rules", "grade", "personas", "stages", "stageCheckHours", "outcome"], ["name", "version", "scores"], allowSchema: true);
        if (o is null)
        {
            return null;
        }

        string? name = String(o, "name", "$", "the model");
        string? version = String(o, "version", "$", "the model");
        string? description = String(o, "description", "$", "the model", nonEmpty: false);

        var scores = ReadArray(o, "scores", "$", "the model", ReadScore, requireItems: true);
        var rules = ReadArray(o, "rules", "$", "the model", ReadRule);
        if (o.TryGetValue("rules", out var rulesNode) && rulesNode.Node.Items?.Count > _options.MaxRules)
        {
            Error(rulesNode.Node, "$.rules", $"the model has {rulesNode.Node.Items.Count} rules; at most {_options.MaxRules} are allowed");
        }

        GradeDefinition? grade = o.TryGetValue("grade", out var g) ? ReadGrade(g.Node, "$.grade") : null;
        var personas = ReadArray(o, "personas", "$", "the model", ReadPersona);
        var stages = ReadArray(o, "stages", "$", "the model", ReadStage);
        int? stageCheckHours = StageCheckHours(o);

        CheckReferences(o, grade, personas, stages);
        OutcomeDefinition? outcome = o.TryGetValue("outcome", out var oc) ? ReadOutcome(oc.Node, "$.outcome") : null;

        if (_errors.Count > 0 || name is null || version is null)
        {
            return null;
        }

        return new ScoringModel(name, version, description, scores, rules, grade, personas, stages, stageCheckHours, outcome);
    }

    /// <summary>Spec 3.4: <c>stageCheckHours</c>, a whole number of hours from 0 to 8,760; null where not stated.</summary>
    private int? StageCheckHours(Dictionary<string, (JNode Node, int KeyOffset)> o)
    {
        var n = Number(o, "stageCheckHours", "$", "the model");
        if (n is null)
        {
            return null;
        }

        if (n != Math.Floor(n.Value) || n < 0 || n > ScoringModel.MaxStageCheckHours)
        {
            Error(o["stageCheckHours"].Node, "$.stageCheckHours",
                $"the model: 'stageCheckHours' must be a whole number of hours from 0 to {ScoringModel.MaxStageCheckHours}, not {Fmt(n.Value)}");
            return null;
        }

        return (int)n.Value;
    }

    private ImmutableArray<T> ReadArray<T>(Dictionary<string, (JNode Node, int KeyOffset)> o, string key, string path, string what, Func<JNode, string, T?> readItem, bool requireItems = false)
        where T : class
    {
        if (!o.TryGetValue(key, out var v))
        {
            return [];
        }

        string p = PathOf(path, key);
        if (v.Node.Kind != JKind.Array)
        {
            Error(v.Node, p, $"{what}: '{key}' must be an array, not {v.Node.KindName}");
            return [];
        }

        if (requireItems && v.Node.Items!.Count == 0)
        {
            Error(v.Node, p, $"{what}: '{key}' must have at least one item");
        }

        var builder = ImmutableArray.CreateBuilder<T>();
        for (int i = 0; i < v.Node.Items!.Count; i++)
        {
            if (readItem(v.Node.Items[i], $"{p}[{i}]") is { } item)
            {
                builder.Add(item);
            }
        }

        return builder.ToImmutable();
    }

    private ScoreDefinition? ReadScore(JNode node, string path)
    {
        var o = Object(node, path, "a score", ["name", "min", "max", "halfLifeDays", "sum", "description"], ["name"]);
        if (o is null)
        {
            return null;
        }

        string? name = String(o, "name", path, "a score");
        string what = name is null ? "a score" : $"score '{name}'";
        double? min = Number(o, "min", path, what);
        double? max = Number(o, "max", path, what);
        double? halfLife = Number(o, "halfLifeDays", path, what, positive: true);
        string? description = String(o, "description", path, what, nonEmpty: false);
        if (min is not null && max is not null && min > max)
        {
            Error(o["max"].Node, path + ".max", $"{what}: 'max' ({Fmt(max.Value)}) is below 'min' ({Fmt(min.Value)})");
        }

        ImmutableArray<KeyValuePair<string, double>> sum = default;
        if (o.TryGetValue("sum", out var s))
        {
            if (s.Node.Kind != JKind.Object)
            {
                Error(s.Node, path + ".sum", $"{what}: 'sum' must be an object of score weights, not {s.Node.KindName}");
            }
            else
            {
                var b = ImmutableArray.CreateBuilder<KeyValuePair<string, double>>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in s.Node.Properties!)
                {
                    string wp = PathOf(path + ".sum", p.Name);
                    if (!seen.Add(p.Name))
                    {
                        Error(p.Offset, wp, $"{what}: score '{p.Name}' appears twice in 'sum'");
                        continue;
                    }

                    if (Number(p.Value, wp, $"{what}: the weight of '{p.Name}'") is { } w)
                    {
                        b.Add(new(p.Name, w));
                    }
                }

                if (s.Node.Properties!.Count == 0)
                {
                    Error(s.Node, path + ".sum", $"{what}: 'sum' must name at least one score");
                }

                sum = b.ToImmutable();
            }

            if (o.ContainsKey("halfLifeDays"))
            {
                Error(o["halfLifeDays"].Node, path + ".halfLifeDays", $"{what}: a composite score has no awards to decay; remove 'halfLifeDays'");
            }
        }

        if (name is null)
        {
            return null;
        }

        var score = new ScoreDefinition(name, min, max, halfLife, sum, description);
        _draft.Scores.Add((score, path, node));
        return score;
    }

    private RuleDefinition? ReadRule(JNode node, string path)
    {
        var o = Object(node, path, "a rule",
            ["id", "score", "points", "description", "when", "on", "limit", "after", "halfLifeDays", "expiresAfterDays", "maxPoints", "minPoints"],
            ["id", "score", "points"]);
        if (o is null)
        {
            return null;
        }

        string? id = String(o, "id", path, "a rule");
        string what = id is null ? "a rule" : $"rule '{id}'";
        string? score = String(o, "score", path, what);
        double? points = Number(o, "points", path, what);
        string? description = String(o, "description", path, what, nonEmpty: false);

        ImmutableArray<string> on = default;
        if (o.TryGetValue("on", out var onNode))
        {
            on = ReadNames(onNode.Node, path + ".on", what, "'on'");
        }

        bool isEvent = o.ContainsKey("on");
        Condition? when = o.TryGetValue("when", out var w) ? ReadCondition(w.Node, path + ".when", what, isEvent ? Scope.EventRule : Scope.TraitRule) : null;

        RuleLimit? limit = null;
        if (o.TryGetValue("limit", out var l))
        {
            var lo = Object(l.Node, path + ".limit", $"{what}: 'limit'", ["count", "perDays", "per"], ["count"]);
            if (lo is not null)
            {
                int? count = Count(lo, "count", path + ".limit", $"{what}: 'limit'");
                double? perDays = Number(lo, "perDays", path + ".limit", $"{what}: 'limit'", positive: true);
                string? per = String(lo, "per", path + ".limit", $"{what}: 'limit'");
                if (per is not null && !(per.StartsWith("properties.", StringComparison.Ordinal) || per.StartsWith("context.", StringComparison.Ordinal)) )
                {
                    Error(lo["per"].Node, path + ".limit.per", $"{what}: 'limit.per' must be a properties.* or context.* path, not '{per}'");
                }
                else if (per is not null && per.Split('.').Any(string.IsNullOrEmpty))
                {
                    Error(lo["per"].Node, path + ".limit.per", $"{what}: 'limit.per' has an empty segment: '{per}'");
                }

                if (count is not null)
                {
                    limit = new RuleLimit(count.Value, perDays, per);
                }
            }
        }

        RuleAfter? after = null;
        if (o.TryGetValue("after", out var a))
        {
            var ao = Object(a.Node, path + ".after", $"{what}: 'after'", ["count", "withinDays"], ["count", "withinDays"]);
            if (ao is not null)
            {
                int? count = Count(ao, "count", path + ".after", $"{what}: 'after'");
                double? within = Number(ao, "withinDays", path + ".after", $"{what}: 'after'", positive: true);
                if (count is not null && within is not null)
                {
                    after = new RuleAfter(count.Value, within.Value);
                }
            }
        }

        double? halfLife = Number(o, "halfLifeDays", path, what, positive: true);
        double? expires = Number(o, "expiresAfterDays", path, what, positive: true);
        double? maxPoints = Number(o, "maxPoints", path, what);
        double? minPoints = Number(o, "minPoints", path, what);
        if (minPoints is not null && maxPoints is not null && minPoints > maxPoints)
        {
            Error(o["maxPoints"].Node, path + ".maxPoints", $"{what}: 'maxPoints' ({Fmt(maxPoints.Value)}) is below 'minPoints' ({Fmt(minPoints.Value)})");
        }

        if (!isEvent)
        {
            foreach (var key in new[] { "limit", "after", "halfLifeDays", "expiresAfterDays", "maxPoints", "minPoints" })
            {
                if (o.TryGetValue(key, out var k))
                {
                    Error(k.KeyOffset, PathOf(path, key), $"{what}: '{key}' applies to event rules only; add 'on' or remove '{key}'");
                }
            }
        }

        _draft.RuleRefs.Add((id, score, path, o));
        if (id is null || score is null || points is null || (isEvent && on.IsDefault))
        {
            return null;
        }

        return new RuleDefinition(id, score, points.Value, description, when, isEvent ? on : default, limit, after, halfLife, expires, maxPoints, minPoints);
    }

    private ImmutableArray<string> ReadNames(JNode node, string path, string what, string key)
    {
        if (node.Kind == JKind.String)
        {
            if (string.IsNullOrWhiteSpace(node.Text))
            {
                Error(node, path, $"{what}: {key} must not be empty");
                return default;
            }

            return [node.Text!];
        }

        if (node.Kind == JKind.Array)
        {
            if (node.Items!.Count == 0)
            {
                Error(node, path, $"{what}: {key} must name at least one event");
                return default;
            }

            var b = ImmutableArray.CreateBuilder<string>();
            for (int i = 0; i < node.Items.Count; i++)
            {
                var item = node.Items[i];
                if (item.Kind != JKind.String || string.IsNullOrWhiteSpace(item.Text))
                {
                    Error(item, $"{path}[{i}]", $"{what}: {key} must list non-empty strings, not {item.KindName}");
                    return default;
                }

                b.Add(item.Text!);
            }

            return b.ToImmutable();
        }

        Error(node, path, $"{what}: {key} must be an event name or an array of names, not {node.KindName}");
        return default;
    }

    private GradeDefinition? ReadGrade(JNode node, string path)
    {
        var o = Object(node, path, "the grade", ["score", "bands"], ["score", "bands"]);
        if (o is null)
        {
            return null;
        }

        string? score = String(o, "score", path, "the grade");
        var bands = ImmutableArray.CreateBuilder<GradeBand>();
        if (o.TryGetValue("bands", out var b))
        {
            if (b.Node.Kind != JKind.Array || b.Node.Items!.Count == 0)
            {
                Error(b.Node, path + ".bands", "the grade: 'bands' must be a non-empty array");
            }
            else
            {
                double? previous = null;
                var names = new HashSet<string>(StringComparer.Ordinal);
                for (int i = 0; i < b.Node.Items.Count; i++)
                {
                    string bp = $"{path}.bands[{i}]";
                    var bo = Object(b.Node.Items[i], bp, "a grade band", ["grade", "min"], ["grade"]);
                    if (bo is null)
                    {
                        continue;
                    }

                    string? grade = String(bo, "grade", bp, "a grade band");
                    double? min = Number(bo, "min", bp, grade is null ? "a grade band" : $"grade band '{grade}'");
                    bool last = i == b.Node.Items.Count - 1;
                    if (grade is not null && !names.Add(grade))
                    {
                        Error(bo["grade"].Node, bp + ".grade", $"grade '{grade}' is defined twice");
                    }

                    if (last && bo.ContainsKey("min"))
                    {
                        Error(bo["min"].Node, bp + ".min", $"grade band '{grade}': the last band catches the rest and has no 'min'");
                    }
                    else if (!last && !bo.ContainsKey("min"))
                    {
                        Error(b.Node.Items[i], bp, $"grade band '{grade}': only the last band may omit 'min'");
                    }

                    if (min is not null && previous is not null && min >= previous)
                    {
                        Error(bo["min"].Node, bp + ".min", $"grade band '{grade}': bands are out of order; 'min' {Fmt(min.Value)} must be below the previous band's {Fmt(previous.Value)}");
                    }

                    if (min is not null)
                    {
                        previous = min;
                    }

                    if (grade is not null)
                    {
                        bands.Add(new GradeBand(grade, last ? null : min));
                    }
                }
            }
        }

        return score is null ? null : new GradeDefinition(score, bands.ToImmutable());
    }

    private PersonaDefinition? ReadPersona(JNode node, string path)
    {
        var o = Object(node, path, "a persona", ["name", "when", "description"], ["name", "when"]);
        if (o is null)
        {
            return null;
        }

        string? name = String(o, "name", path, "a persona");
        string what = name is null ? "a persona" : $"persona '{name}'";
        var when = o.TryGetValue("when", out var w) ? ReadCondition(w.Node, path + ".when", what, Scope.Persona) : null;
        string? description = String(o, "description", path, what, nonEmpty: false);
        return name is null || when is null ? null : new PersonaDefinition(name, when, description);
    }

    private StageDefinition? ReadStage(JNode node, string path)
    {
        var o = Object(node, path, "a stage", ["name", "enter", "exit", "description"], ["name"]);
        if (o is null)
        {
            return null;
        }

        string? name = String(o, "name", path, "a stage");
        string what = name is null ? "a stage" : $"stage '{name}'";
        var enter = o.TryGetValue("enter", out var e) ? ReadCondition(e.Node, path + ".enter", what, Scope.Stage) : null;
        var exit = o.TryGetValue("exit", out var x) ? ReadCondition(x.Node, path + ".exit", what, Scope.Stage) : null;
        string? description = String(o, "description", path, what, nonEmpty: false);
        bool first = path.EndsWith("[0]", StringComparison.Ordinal);
        if (first && o.TryGetValue("enter", out var fe))
        {
            Error(fe.KeyOffset, path + ".enter", $"{what}: the first stage is where every lead starts and has no 'enter'");
        }
        else if (!first && !o.ContainsKey("enter"))
        {
            Error(node, path, $"{what}: every stage but the first needs 'enter'");
        }

        if (first && o.TryGetValue("exit", out var fx))
        {
            Error(fx.KeyOffset, path + ".exit", $"{what}: the first stage has no lower stage to exit to; remove 'exit'");
        }

        return name is null ? null : new StageDefinition(name, enter, exit, description);
    }

    // ---------------------------------------------------------------- conditions

    private Condition? ReadCondition(JNode node, string path, string owner, Scope scope)
    {
        if (node.Kind != JKind.Object)
        {
            Error(node, path, $"{owner}: a condition must be an object, not {node.KindName}");
            return null;
        }

        var keys = node.Properties!.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        Condition? result;
        if (keys.Contains("all") || keys.Contains("any"))
        {
            string key = keys.Contains("all") ? "all" : "any";
            var o = Object(node, path, $"{owner}: an '{key}' condition", [key], [key]);
            result = null;
            if (o is not null)
            {
                var list = o[key].Node;
                if (list.Kind != JKind.Array)
                {
                    Error(list, path + "." + key, $"{owner}: '{key}' must be an array of conditions, not {list.KindName}");
                }
                else
                {
                    var b = ImmutableArray.CreateBuilder<Condition>();
                    bool ok = true;
                    for (int i = 0; i < list.Items!.Count; i++)
                    {
                        var c = ReadCondition(list.Items[i], $"{path}.{key}[{i}]", owner, scope);
                        ok &= c is not null;
                        if (c is not null)
                        {
                            b.Add(c);
                        }
                    }

                    result = !ok ? null : key == "all" ? new AllCondition(b.ToImmutable()) : new AnyCondition(b.ToImmutable());
                }
            }

            return result;
        }

        if (keys.Contains("not"))
        {
            var o = Object(node, path, $"{owner}: a 'not' condition", ["not"], ["not"]);
            if (o is null)
            {
                return null;
            }

            var inner = ReadCondition(o["not"].Node, path + ".not", owner, scope);
            return inner is null ? null : new NotCondition(inner);
        }

        if (keys.Contains("occurred"))
        {
            var o = Object(node, path, $"{owner}: an 'occurred' condition", ["occurred", "withinDays"], ["occurred"]);
            if (o is null)
            {
                return null;
            }

            if (scope == Scope.Persona)
            {
                Error(node, path, $"{owner}: personas use only traits.* and account.*, not 'occurred'");
            }

            var names = ReadNames(o["occurred"].Node, path + ".occurred", owner, "'occurred'");
            double? within = Number(o, "withinDays", path, $"{owner}: 'occurred'", positive: true);
            if (o.ContainsKey("withinDays") && within is null)
            {
                return null;
            }

            return names.IsDefault ? null : new OccurredCondition(names, within);
        }

        if (keys.Contains("field") || keys.Contains("op"))
        {
            var o = Object(node, path, $"{owner}: a condition", ["field", "op", "value"], ["field", "op"]);
            if (o is null)
            {
                return null;
            }

            string? field = String(o, "field", path, owner);
            string? opName = String(o, "op", path, owner);
            ConditionOperator? op = null;
            if (opName is not null)
            {
                int index = Array.IndexOf(OperatorNames, opName);
                if (index < 0)
                {
                    string hint = Suggest(opName, OperatorNames) is { } s ? $"; did you mean '{s}'?" : "";
                    Error(o["op"].Node, path + ".op", $"{owner}: unknown operator '{opName}'{hint}");
                }
                else
                {
                    op = (ConditionOperator)index;
                }
            }

            if (field is not null && !CheckFieldSyntax(field, o["field"].Node, path + ".field", owner))
            {
                field = null;
            }

            ModelValue? value = null;
            bool valueOk = true;
            if (op is not null)
            {
                o.TryGetValue("value", out var v);
                valueOk = ReadOperand(op.Value, opName!, v.Node, node, path, owner, out value);
            }

            if (field is null || op is null || !valueOk)
            {
                return null;
            }

            var condition = new FieldCondition(field, op.Value, value);
            _draft.Conditions.Add((path + ".field", o["field"].Node, condition, scope, owner));
            return condition;
        }

        string known = "'field'/'op'/'value', 'all', 'any', 'not' or 'occurred'";
        if (node.Properties!.Count == 0)
        {
            Error(node, path, $"{owner}: an empty condition; use {known}");
        }
        else
        {
            foreach (var p in node.Properties!)
            {
                Error(p.Offset, PathOf(path, p.Name), $"{owner}: unknown key '{p.Name}' in a condition; use {known}");
            }
        }

        return null;
    }

    private bool CheckFieldSyntax(string field, JNode node, string path, string owner)
    {
        if (field is "event" or "grade" or "persona" or "stage")
        {
            return true;
        }

        int dot = field.IndexOf('.', StringComparison.Ordinal);
        string root = dot < 0 ? field : field[..dot];
        if (root is not ("traits" or "account" or "properties" or "context" or "scores"))
        {
            string[] roots = ["traits.", "account.", "properties.", "context.", "scores.", "event", "grade", "persona", "stage"];
            string hint = Suggest(field, ["traits", "account", "properties", "context", "scores", "event", "grade", "persona", "stage"]) is { } s ? $"; did you mean '{s}'?" : "";
            Error(node, path, $"{owner}: unknown field '{field}': a field is one of {string.Join(", ", roots.Select(r => r.EndsWith('.') ? r + "*" : r))}{hint}");
            return false;
        }

        if (dot < 0 || field.Split('.').Skip(1).Any(string.IsNullOrEmpty))
        {
            Error(node, path, $"{owner}: field '{field}' needs a name after '{root}.' and no empty segments");
            return false;
        }

        return true;
    }

    private bool ReadOperand(ConditionOperator op, string opName, JNode? v, JNode condition, string path, string owner, out ModelValue? value)
    {
        value = null;
        string vp = path + ".value";
        string Say(string expected) => $"{owner}: operator '{opName}' needs {expected} as 'value'";
        if (op is ConditionOperator.Exists or ConditionOperator.NotExists)
        {
            if (v is not null)
            {
                Error(v, vp, $"{owner}: operator '{opName}' takes no 'value'");
                return false;
            }

            return true;
        }

        if (v is null)
        {
            Error(condition, path, $"{owner}: operator '{opName}' needs a 'value'");
            return false;
        }

        switch (op)
        {
            case ConditionOperator.Eq or ConditionOperator.Ne:
                return Scalar(v, vp, Say("a string, a number or a boolean"), out value, allowBool: true);
            case ConditionOperator.Gt or ConditionOperator.Gte or ConditionOperator.Lt or ConditionOperator.Lte:
                return Scalar(v, vp, Say("a number or a string"), out value, allowBool: false);
            case ConditionOperator.Contains or ConditionOperator.NotContains or ConditionOperator.StartsWith or ConditionOperator.EndsWith:
                if (v.Kind != JKind.String)
                {
                    Error(v, vp, Say("a string") + $", not {v.KindName}");
                    return false;
                }

                value = ModelValue.FromString(v.Text!);
                return true;
            case ConditionOperator.Matches:
                if (v.Kind != JKind.String)
                {
                    Error(v, vp, Say("a regular expression string") + $", not {v.KindName}");
                    return false;
                }

                if (v.Text!.Length > _options.MaxRegexLength)
                {
                    Error(v, vp, $"{owner}: the regular expression is longer than {_options.MaxRegexLength} characters");
                    return false;
                }

                try
                {
                    _ = new Regex(v.Text, RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, _options.RegexTimeout);
                }
                catch (ArgumentException ex)
                {
                    Error(v, vp, $"{owner}: the regular expression does not compile: {ex.Message}");
                    return false;
                }
                catch (NotSupportedException ex)
                {
                    Error(v, vp, $"{owner}: the regular expression uses a construct that cannot run without backtracking: {ex.Message}");
                    return false;
                }

                value = ModelValue.FromString(v.Text);
                return true;
            case ConditionOperator.In or ConditionOperator.NotIn:
                return List(v, vp, Say("an array of strings, numbers or booleans"), out value, item => item.Kind is JKind.String or JKind.Number or JKind.True or JKind.False);
            case ConditionOperator.ContainsAny or ConditionOperator.StartsWithAny or ConditionOperator.EndsWithAny:
                return List(v, vp, Say("an array of strings"), out value, item => item.Kind == JKind.String);
            case ConditionOperator.Between:
                if (v.Kind != JKind.Array || v.Items!.Count != 2 ||
                    !(v.Items.All(i => i.Kind == JKind.Number) || v.Items.All(i => i.Kind == JKind.String)))
                {
                    Error(v, vp, Say("[low, high]: two numbers or two strings"));
                    return false;
                }

                return List(v, vp, Say("[low, high]"), out value, _ => true);
            default:
                return false;
        }
    }

    private bool Scalar(JNode v, string path, string message, out ModelValue? value, bool allowBool)
    {
        value = v.Kind switch
        {
            JKind.String => ModelValue.FromString(v.Text!),
            JKind.Number when double.IsFinite(v.Number) => ModelValue.FromNumber(v.Number),
            JKind.True when allowBool => ModelValue.FromBoolean(true),
            JKind.False when allowBool => ModelValue.FromBoolean(false),
            _ => null,
        };
        if (value is null)
        {
            Error(v, path, v.Kind == JKind.Number ? message + ", and it must be finite" : message + $", not {v.KindName}");
            return false;
        }

        return true;
    }

    private bool List(JNode v, string path, string message, out ModelValue? value, Func<JNode, bool> itemOk)
    {
        value = null;
        if (v.Kind != JKind.Array)
        {
            Error(v, path, message + $", not {v.KindName}");
            return false;
        }

        var items = new List<ModelValue>();
        for (int i = 0; i < v.Items!.Count; i++)
        {
            var item = v.Items[i];
            if (!itemOk(item) || (item.Kind == JKind.Number && !double.IsFinite(item.Number)))
            {
                Error(item, $"{path}[{i}]", message + $"; item {i} is {(item.Kind == JKind.Number && !double.IsFinite(item.Number) ? "not a finite number" : item.KindName)}");
                return false;
            }

            items.Add(item.Kind switch
            {
                JKind.String => ModelValue.FromString(item.Text!),
                JKind.Number => ModelValue.FromNumber(item.Number),
                _ => ModelValue.FromBoolean(item.Kind == JKind.True),
            });
        }

        value = ModelValue.FromArray(items);
        return true;
    }

    // ---------------------------------------------------------------- cross references

    private void CheckReferences(Dictionary<string, (JNode Node, int KeyOffset)> root, GradeDefinition? grade, ImmutableArray<PersonaDefinition> personas, ImmutableArray<StageDefinition> stages)
    {
        var scores = new Dictionary<string, ScoreDefinition>(StringComparer.Ordinal);
        foreach (var (score, path, node) in _draft.Scores)
        {
            if (!scores.TryAdd(score.Name, score))
            {
                Error(node, path + ".name", $"score '{score.Name}' is defined twice");
            }
        }

        // Composites: every component exists; no cycles.
        foreach (var (score, path, _) in _draft.Scores.Where(s => s.Score.IsComposite))
        {
            foreach (var (component, _) in score.Sum)
            {
                if (!scores.ContainsKey(component))
                {
                    Error(FindKeyOffset(root, path, component), PathOf(path + ".sum", component), $"score '{score.Name}': 'sum' names score '{component}', which does not exist{Hint(component, scores.Keys)}");
                }
            }
        }

        // Cycles: one error per cycle, at the first of its scores in document order.
        var order = _draft.Scores.Select((x, i) => (x.Score.Name, i)).GroupBy(x => x.Name).ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var cycle in FindCycles(scores))
        {
            if (!reported.Add(string.Join(">", cycle.Order(StringComparer.Ordinal))))
            {
                continue;
            }

            int start = cycle.Select((n, i) => (n, i)).MinBy(x => order.GetValueOrDefault(x.n, int.MaxValue)).i;
            var rotated = cycle.Skip(start).Concat(cycle.Take(start)).ToList();
            var (_, path, node) = _draft.Scores[order[rotated[0]]];
            Error(node, path + ".sum", $"score '{rotated[0]}': composites form a cycle: {string.Join(" -> ", rotated.Append(rotated[0]))}");
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, score, path, keys) in _draft.RuleRefs)
        {
            string what = id is null ? "a rule" : $"rule '{id}'";
            if (id is not null && !ids.Add(id))
            {
                Error(keys["id"].Node, path + ".id", $"rule id '{id}' is used twice");
            }

            if (score is null)
            {
                continue;
            }

            if (!scores.TryGetValue(score, out var target))
            {
                Error(keys["score"].Node, path + ".score", $"{what}: score '{score}' does not exist{Hint(score, scores.Keys)}");
            }
            else if (target.IsComposite)
            {
                Error(keys["score"].Node, path + ".score", $"{what}: score '{score}' is a composite (a sum of other scores) and takes no rules");
            }
        }

        if (grade is not null && !scores.ContainsKey(grade.Score) && root.TryGetValue("grade", out var g))
        {
            var go = g.Node.Properties!.First(p => p.Name == "score");
            Error(go.Value, "$.grade.score", $"the grade: score '{grade.Score}' does not exist{Hint(grade.Score, scores.Keys)}");
        }

        CheckUnique(root, "personas", personas.Select(p => p.Name).ToList(), "persona");
        CheckUnique(root, "stages", stages.Select(s => s.Name).ToList(), "stage");

        foreach (var (path, node, condition, scope, owner) in _draft.Conditions)
        {
            string field = condition.Field;
            int dot = field.IndexOf('.', StringComparison.Ordinal);
            string rootName = dot < 0 ? field : field[..dot];
            switch (scope)
            {
                case Scope.Persona when rootName is not ("traits" or "account"):
                    Error(node, path, $"{owner}: personas use only traits.* and account.*, not '{field}'");
                    continue;
                case Scope.TraitRule or Scope.EventRule when rootName is "scores" or "grade" or "stage":
                    Error(node, path, $"{owner}: rules cannot use '{field}' (a rule feeds the scores, so reading them would be circular); use it in a stage");
                    continue;
            }

            if (rootName == "scores")
            {
                string name = field[(dot + 1)..];
                if (!scores.ContainsKey(name))
                {
                    Error(node, path, $"{owner}: score '{name}' does not exist{Hint(name, scores.Keys)}");
                }
            }
            else if (field == "grade" && grade is null && !root.ContainsKey("grade"))
            {
                Error(node, path, $"{owner}: the model defines no grade");
            }
            else if (field == "stage" && stages.IsEmpty && !root.ContainsKey("stages"))
            {
                Error(node, path, $"{owner}: the model defines no stages");
            }
            else if (field == "persona" && personas.IsEmpty && !root.ContainsKey("personas"))
            {
                Error(node, path, $"{owner}: the model defines no personas");
            }
        }
    }

    private static int FindKeyOffset(Dictionary<string, (JNode Node, int KeyOffset)> root, string scorePath, string key)
    {
        int index = int.Parse(scorePath[(scorePath.LastIndexOf('[') + 1)..^1], CultureInfo.InvariantCulture);
        var score = root["scores"].Node.Items![index];
        var sum = score.Properties!.First(p => p.Name == "sum").Value;
        return sum.Properties!.First(p => p.Name == key).Offset;
    }

    private void CheckUnique(Dictionary<string, (JNode Node, int KeyOffset)> root, string key, List<string> names, string what)
    {
        if (!root.TryGetValue(key, out var list) || list.Node.Items is null)
        {
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < list.Node.Items.Count; i++)
        {
            var item = list.Node.Items[i];
            var nameNode = item.Properties?.FirstOrDefault(p => p.Name == "name").Value;
            if (nameNode?.Text is { } name && !seen.Add(name))
            {
                Error(nameNode, $"$.{key}[{i}].name", $"{what} '{name}' is defined twice");
            }
        }
    }

    /// <summary>Every elementary cycle found by a depth-first search over composite components (each once).</summary>
    private static List<List<string>> FindCycles(Dictionary<string, ScoreDefinition> scores)
    {
        var cycles = new List<List<string>>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1: on the stack, 2: done
        var stack = new List<string>();

        void Visit(string name)
        {
            state[name] = 1;
            stack.Add(name);
            foreach (var (component, _) in scores[name].Sum)
            {
                if (!scores.TryGetValue(component, out var c) || !c.IsComposite)
                {
                    continue;
                }

                if (state.GetValueOrDefault(component) == 1)
                {
                    cycles.Add(stack.Skip(stack.IndexOf(component)).ToList());
                }
                else if (!state.ContainsKey(component))
                {
                    Visit(component);
                }
            }

            stack.RemoveAt(stack.Count - 1);
            state[name] = 2;
        }

        foreach (var (name, score) in scores)
        {
            if (score.IsComposite && !state.ContainsKey(name))
            {
                Visit(name);
            }
        }

        return cycles;
    }

    private static string Hint(string name, IEnumerable<string> candidates) =>
        Suggest(name, candidates) is { } s ? $"; did you mean '{s}'?" : "";

    /// <summary>The closest candidate by edit distance, when it is close enough to be a typo.</summary>
    internal static string? Suggest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = Distance(name.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance)
            {
                bestDistance = d;
                best = c;
            }
        }

        return best is not null && bestDistance <= Math.Max(1, Math.Min(3, best.Length / 3)) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        if (a.Length > 64 || b.Length > 64)
        {
            return int.MaxValue;
        }

        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
