using System.Text;

namespace UsbRedir.Tests.PowerShell.Support;

/// <summary>
/// Reads a module manifest written as a pure literal: @{ Key = 'string' | "string" | @('a', 'b') | @{ … } }
/// with # comments. Anything else (variables, expressions, bare words) is rejected, which is itself the check
/// that the manifest stays a literal hashtable.
/// </summary>
public static class Psd1Reader
{
    public static IReadOnlyDictionary<string, object> Read(string path)
    {
        var reader = new Cursor(File.ReadAllText(path));
        var table = reader.ReadHashtable();
        reader.SkipTrivia();
        if (!reader.AtEnd)
            throw reader.Error("text after the closing '}'");
        return table;
    }

    private sealed class Cursor(string text)
    {
        private int _at;

        public bool AtEnd => _at >= text.Length;

        public FormatException Error(string what)
        {
            var line = text.Take(_at).Count(c => c == '\n') + 1;
            return new FormatException($"manifest line {line}: {what}");
        }

        public void SkipTrivia()
        {
            while (!AtEnd)
            {
                if (char.IsWhiteSpace(text[_at]) || text[_at] == ';')
                    _at++;
                else if (text[_at] == '#')
                    while (!AtEnd && text[_at] != '\n')
                        _at++;
                else
                    return;
            }
        }

        private bool TryTake(string token)
        {
            SkipTrivia();
            if (string.CompareOrdinal(text, _at, token, 0, token.Length) != 0)
                return false;
            _at += token.Length;
            return true;
        }

        private void Take(string token)
        {
            if (!TryTake(token))
                throw Error($"expected '{token}'");
        }

        public Dictionary<string, object> ReadHashtable()
        {
            Take("@{");
            var table = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
            while (!TryTake("}"))
            {
                SkipTrivia();
                var start = _at;
                while (!AtEnd && (char.IsLetterOrDigit(text[_at]) || text[_at] == '_'))
                    _at++;
                if (_at == start)
                    throw Error("expected a key");
                var key = text[start.._at];
                Take("=");
                if (!table.TryAdd(key, ReadValue()))
                    throw Error($"duplicate key {key}");
            }
            return table;
        }

        private object ReadValue()
        {
            SkipTrivia();
            if (TryTake("@{"))
            {
                _at -= 2;
                return ReadHashtable();
            }
            if (TryTake("@("))
            {
                var items = new List<object>();
                while (!TryTake(")"))
                {
                    items.Add(ReadValue());
                    TryTake(",");
                }
                return items;
            }
            if (TryTake("$true"))
                return true;
            if (TryTake("$false"))
                return false;
            if (!AtEnd && text[_at] is '\'' or '"')
                return ReadString();
            throw Error("expected a string, @(…), @{…}, $true or $false (the manifest must be a literal)");
        }

        private string ReadString()
        {
            var quote = text[_at++];
            var value = new StringBuilder();
            while (true)
            {
                if (AtEnd)
                    throw Error("unterminated string");
                var c = text[_at++];
                if (c == quote)
                {
                    if (!AtEnd && text[_at] == quote)
                    {
                        value.Append(quote);
                        _at++;
                        continue;
                    }
                    return value.ToString();
                }
                if (quote == '"' && c is '$' or '`')
                    throw Error("double-quoted strings with $ or ` are expressions; use single quotes");
                value.Append(c);
            }
        }
    }
}
