using System.Text;

namespace UsbRedir.Security;

/// <summary>A line of a trust file that was skipped, and why: <c>path:line: message</c>, like a compiler's warning.</summary>
public sealed record TrustFileWarning(string Path, int Line, string Message)
{
    public override string ToString() => $"{Path}:{Line}: {Message}";
}

/// <summary>One meaningful line of a trust file: its number (from 1) and its words.</summary>
internal sealed record TrustFileLine(int Number, IReadOnlyList<string> Words);

/// <summary>
/// The reader both trust files (<c>known_servers</c>, <c>authorized_clients</c>) share, in the spirit of ssh's
/// known_hosts: one entry a line, words separated by blanks, <c>#</c> starts a comment (at the start of a word), blank
/// lines are ignored, and a word may hold blanks in double quotes (<c>name="alice's laptop"</c>; <c>\"</c> and <c>\\</c>
/// inside). Editing keeps every other line as it was, comments and bad lines included. A bad line never stops the
/// reading: it becomes a <see cref="TrustFileWarning"/> naming its line number, and the rest of the file still counts.
/// </summary>
internal static class TrustFile
{
    /// <summary>The lines of <paramref name="text"/> (null: no file) that hold words, and the warnings of those that cannot be split.</summary>
    public static IReadOnlyList<TrustFileLine> Read(string? text, string path, List<TrustFileWarning> warnings)
    {
        var lines = new List<TrustFileLine>();
        if (text is null)
            return lines;
        var number = 0;
        foreach (var line in SplitLines(text))
        {
            number++;
            if (line.Length > MaxLineLength)
            {
                warnings.Add(new TrustFileWarning(path, number, $"the line is longer than {MaxLineLength} characters; skipped"));
                continue;
            }
            if (Split(line, out var error) is { } words)
            {
                if (words.Count > 0)
                    lines.Add(new TrustFileLine(number, words));
            }
            else
            {
                warnings.Add(new TrustFileWarning(path, number, error! + "; skipped"));
            }
        }
        return lines;
    }

    /// <summary>Longer lines are refused (no entry needs more; a binary file must not cost much).</summary>
    internal const int MaxLineLength = 4096;

    /// <summary>The file's lines without their ends (\n or \r\n).</summary>
    public static IEnumerable<string> SplitLines(string text)
    {
        var lines = text.Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++)
            yield return lines[i].TrimEnd('\r');
    }

    /// <summary>The words of one line (empty for a blank or comment line), or null with <paramref name="error"/>.</summary>
    public static List<string>? Split(string line, out string? error)
    {
        error = null;
        var words = new List<string>();
        var i = 0;
        while (true)
        {
            while (i < line.Length && (line[i] == ' ' || line[i] == '\t'))
                i++;
            if (i == line.Length || line[i] == '#')
                return words;
            var word = new StringBuilder();
            while (i < line.Length && line[i] != ' ' && line[i] != '\t')
            {
                var c = line[i++];
                if (c == '"')
                {
                    var closed = false;
                    while (i < line.Length)
                    {
                        c = line[i++];
                        if (c == '\\' && i < line.Length && line[i] is '"' or '\\' or 'n' or 'r')
                        {
                            var escaped = line[i++];
                            word.Append(escaped switch { 'n' => '\n', 'r' => '\r', _ => escaped });
                        }
                        else if (c == '"')
                        {
                            closed = true;
                            break;
                        }
                        else
                        {
                            word.Append(c);
                        }
                    }
                    if (!closed)
                    {
                        error = "a double quote is not closed";
                        return null;
                    }
                }
                else if (char.IsControl(c))
                {
                    error = $"control character U+{(int)c:X4} outside quotes";
                    return null;
                }
                else
                {
                    word.Append(c);
                }
            }
            words.Add(word.ToString());
        }
    }

    /// <summary>
    /// A word as <see cref="Split"/> reads it back: quoted when it holds blanks, quotes, a backslash, a control character
    /// (read only inside quotes: found by fuzz/run, a name with one was written bare and its entry skipped on the next
    /// read) or a leading #.
    /// </summary>
    public static string Quote(string word)
    {
        if (word.Length > 0 && !word.Any(c => c is ' ' or '\t' or '"' or '\\' || char.IsControl(c)) && word[0] != '#')
            return word;
        // A line break inside quotes would still end the line: written as \n / \r, which Split reads back.
        return "\"" + word.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal) + "\"";
    }

    /// <summary>A <c>key=value</c> word's value when its key is <paramref name="key"/> (ASCII case-insensitive), else null.</summary>
    public static string? Option(string word, string key) =>
        word.Length > key.Length && word[key.Length] == '=' && word.StartsWith(key, StringComparison.OrdinalIgnoreCase)
            ? word[(key.Length + 1)..]
            : null;

    /// <summary>
    /// <paramref name="text"/> with the lines numbered in <paramref name="remove"/> left out and <paramref name="append"/>
    /// added at the end; every other line stays byte for byte.
    /// </summary>
    public static string Edit(string? text, IReadOnlySet<int> remove, IEnumerable<string> append)
    {
        var result = new StringBuilder();
        var number = 0;
        foreach (var line in text is null ? [] : SplitLines(text))
        {
            number++;
            if (!remove.Contains(number))
                result.Append(line).Append('\n');
        }
        foreach (var line in append)
            result.Append(line).Append('\n');
        return result.ToString();
    }
}
