using System.Globalization;
using System.Text;
using System.Text.Json;
using LeadScoring.Model;
using Xunit.Abstractions;

namespace LeadScoring.Tests.Model;

/// <summary>
/// Deterministic mutation fuzzing of the loader: thousands of damaged copies of the spec example and the sample model
/// must each load without throwing, and either be accepted with no errors or refused with located errors.
/// </summary>
public sealed class ModelFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20261101;
    private const int Variants = 6000;

    private static readonly string[] Inserts =
    [
        "{", "}", "[", "]", ",", ":", "\"", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
        "a", "e", "f", "l", "n", "r", "s", "t", "u", "x", "z", "é", "ß", "€", "中", "𝄞",
    ];

    private static readonly string[] Numbers =
        ["-1", "0", "-0", "0.5", "-2.75", "1e308", "1e400", "-1e400", "123456789012", "1.5e-300", "2147483648", "3", "1"];

    private static readonly string[] NonStrings = ["0", "-1", "true", "false", "null", "{}", "[]", "[\"x\"]", "{\"a\":1}", "1e400"];

    private enum Mutation
    {
        Truncate,
        DeleteCharacter,
        InsertCharacters,
        DuplicateLine,
        DeleteLine,
        SwapValues,
        ReplaceNumber,
        ReplaceStringWithOtherType,
    }

    [Fact]
    public void Load_ThousandsOfMutatedModels_NeverThrowsAndAlwaysLocatesItsErrors()
    {
        string[] seeds = [ModelDocuments.SpecExample, File.ReadAllText(ModelDocuments.SampleModelPath)];
        var random = new Random(Seed);
        var failures = new List<string>();
        int valid = 0, invalid = 0;

        for (int variant = 0; variant < Variants; variant++)
        {
            string text = seeds[variant % seeds.Length];
            byte[]? truncated = null;
            var applied = new List<string>();
            int mutations = 1 + random.Next(3);
            for (int m = 0; m < mutations && truncated is null; m++)
            {
                var kind = (Mutation)random.Next(Enum.GetValues<Mutation>().Length);
                if (kind == Mutation.Truncate)
                {
                    byte[] all = Encoding.UTF8.GetBytes(text);
                    int length = random.Next(all.Length);
                    truncated = all[..length];
                    applied.Add($"truncate at byte {length}");
                }
                else
                {
                    text = Mutate(kind, text, random, applied);
                }
            }

            string? problem = Check(truncated, text, ref valid, ref invalid);
            if (problem is not null)
            {
                failures.Add($"variant {variant} ({string.Join("; ", applied)}): {problem}");
            }
        }

        output.WriteLine($"{valid} variants accepted, {invalid} refused, {failures.Count} failures");
        failures.Should().BeEmpty("every variant must load into a located result; first failures:\n{0}", string.Join("\n", failures.Take(10)));
        (valid + invalid).Should().BeGreaterThanOrEqualTo(5000);
        valid.Should().BeGreaterThan(100, "some mutations (numbers, swapped values) keep the model valid");
        invalid.Should().BeGreaterThan(1000);
    }

    private static string? Check(byte[]? truncated, string text, ref int valid, ref int invalid)
    {
        ModelLoadResult result;
        try
        {
            result = truncated is null ? ScoringModelLoader.Load(text) : ScoringModelLoader.Load(truncated);
        }
        catch (Exception ex)
        {
            return $"threw {ex.GetType().Name}: {ex.Message}";
        }

        if (result is null)
        {
            return "returned null";
        }

        if (result.IsValid)
        {
            valid++;
            if (!result.Errors.IsEmpty)
            {
                return "valid but with errors";
            }

            string json = result.Model!.ToJson();
            var reloaded = ScoringModelLoader.Load(json);
            if (!reloaded.IsValid || reloaded.Model!.ToJson() != json)
            {
                return $"the accepted model does not round-trip: {string.Join(" | ", reloaded.Errors)}";
            }

            return null;
        }

        invalid++;
        if (result.Model is not null)
        {
            return "invalid but a model was returned";
        }

        if (result.Errors.IsEmpty)
        {
            return "invalid without errors";
        }

        foreach (var e in result.Errors)
        {
            if (!e.Path.StartsWith('$') || e.Line is not >= 1 || e.Column is not >= 1 || string.IsNullOrWhiteSpace(e.Message))
            {
                return $"badly located error: {e}";
            }
        }

        for (int i = 1; i < result.Errors.Length; i++)
        {
            var (a, b) = (result.Errors[i - 1], result.Errors[i]);
            if (a.Line > b.Line || (a.Line == b.Line && a.Column > b.Column))
            {
                return $"errors out of document order: {a} before {b}";
            }
        }

        return null;
    }

    private static string Mutate(Mutation kind, string text, Random random, List<string> applied)
    {
        switch (kind)
        {
            case Mutation.DeleteCharacter:
            {
                if (text.Length == 0)
                {
                    return text;
                }

                int i = random.Next(text.Length);
                int count = char.IsSurrogate(text[i]) ? 2 : 1;
                if (char.IsLowSurrogate(text[i]) && i > 0)
                {
                    i--;
                }

                applied.Add($"delete character {i}");
                return text.Remove(i, Math.Min(count, text.Length - i));
            }

            case Mutation.InsertCharacters:
            {
                int i = random.Next(text.Length + 1);
                if (i > 0 && i < text.Length && char.IsLowSurrogate(text[i]))
                {
                    i--;
                }

                var insert = new StringBuilder();
                for (int n = 1 + random.Next(3); n > 0; n--)
                {
                    insert.Append(Inserts[random.Next(Inserts.Length)]);
                }

                applied.Add($"insert '{insert}' at {i}");
                return text.Insert(i, insert.ToString());
            }

            case Mutation.DuplicateLine:
            case Mutation.DeleteLine:
            {
                var lines = text.Split('\n').ToList();
                int line = random.Next(lines.Count);
                if (kind == Mutation.DuplicateLine)
                {
                    lines.Insert(line, lines[line]);
                }
                else
                {
                    lines.RemoveAt(line);
                }

                applied.Add($"{(kind == Mutation.DuplicateLine ? "duplicate" : "delete")} line {line + 1}");
                return string.Join('\n', lines);
            }

            default:
                return MutateValues(kind, text, random, applied);
        }
    }

    /// <summary>Mutations that need the document's values: they fall back to inserting characters when it is no longer JSON.</summary>
    private static string MutateValues(Mutation kind, string text, Random random, List<string> applied)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var tokens = Tokenize(utf8);
        List<Token> candidates = tokens is null ? [] : kind switch
        {
            Mutation.SwapValues => tokens.Where(t => t.IsPropertyValue).ToList(),
            Mutation.ReplaceNumber => tokens.Where(t => t.Type == JsonTokenType.Number).ToList(),
            _ => tokens.Where(t => t.Type == JsonTokenType.String).ToList(),
        };
        if (candidates.Count < 2)
        {
            return Mutate(Mutation.InsertCharacters, text, random, applied);
        }

        var first = candidates[random.Next(candidates.Count)];
        if (kind == Mutation.SwapValues)
        {
            var disjoint = candidates.Where(t => t.End <= first.Start || t.Start >= first.End).ToList();
            if (disjoint.Count == 0)
            {
                return Mutate(Mutation.InsertCharacters, text, random, applied);
            }

            var second = disjoint[random.Next(disjoint.Count)];
            var (early, late) = first.Start < second.Start ? (first, second) : (second, first);
            applied.Add($"swap values at bytes {early.Start} and {late.Start}");
            return Splice(utf8, [(early, utf8[late.Start..late.End]), (late, utf8[early.Start..early.End])]);
        }

        string replacement = kind == Mutation.ReplaceNumber
            ? random.Next(4) switch
            {
                0 => random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
                1 => (random.NextDouble() * 200 - 100).ToString("R", CultureInfo.InvariantCulture),
                _ => Numbers[random.Next(Numbers.Length)],
            }
            : NonStrings[random.Next(NonStrings.Length)];
        applied.Add($"replace value at byte {first.Start} with {replacement}");
        return Splice(utf8, [(first, Encoding.UTF8.GetBytes(replacement))]);
    }

    /// <summary>Replaces non-overlapping token spans, given in document order.</summary>
    private static string Splice(byte[] utf8, (Token Token, byte[] With)[] replacements)
    {
        var output = new List<byte>(utf8.Length + 64);
        int at = 0;
        foreach (var (token, with) in replacements)
        {
            output.AddRange(utf8[at..token.Start]);
            output.AddRange(with);
            at = token.End;
        }

        output.AddRange(utf8[at..]);
        return Encoding.UTF8.GetString([.. output]);
    }

    private readonly record struct Token(JsonTokenType Type, int Start, int End, bool IsPropertyValue);

    /// <summary>Every value of the document with its byte span, or <see langword="null"/> when it is not JSON.</summary>
    private static List<Token>? Tokenize(byte[] utf8)
    {
        var tokens = new List<Token>();
        var open = new Stack<(JsonTokenType Type, int Start, bool IsPropertyValue)>();
        bool isPropertyValue = false;
        try
        {
            var reader = new Utf8JsonReader(utf8);
            while (reader.Read())
            {
                int start = (int)reader.TokenStartIndex;
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        isPropertyValue = true;
                        continue;
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        open.Push((reader.TokenType, start, isPropertyValue));
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        var (type, from, value) = open.Pop();
                        tokens.Add(new Token(type, from, start + 1, value));
                        break;
                    case JsonTokenType.String:
                        tokens.Add(new Token(JsonTokenType.String, start, start + reader.ValueSpan.Length + 2, isPropertyValue));
                        break;
                    default:
                        tokens.Add(new Token(reader.TokenType, start, start + reader.ValueSpan.Length, isPropertyValue));
                        break;
                }

                isPropertyValue = false;
            }

            return tokens;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
