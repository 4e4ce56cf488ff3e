namespace UsbRedir;

/// <summary>
/// What a <see cref="UsbRedirContext"/> lists of one kind (connections, servers, controllers): each item numbered from 1
/// in the order it was added, until it is taken off. Thread-safe.
/// </summary>
public sealed class ContextList<T> where T : class
{
    private readonly List<(int Id, T Item)> _items = [];
    private int _lastId;

    internal ContextList()
    {
    }

    /// <summary>Every listed item, in the order they were added.</summary>
    public IReadOnlyList<T> All { get { lock (_items) return _items.Select(e => e.Item).ToArray(); } }

    /// <summary>Every listed item with its number.</summary>
    public IReadOnlyList<(int Id, T Item)> Numbered { get { lock (_items) return _items.ToArray(); } }

    /// <summary>Lists <paramref name="item"/> under the next number and returns that number.</summary>
    public int Add(T item) => Add(item, check: null);

    /// <summary>
    /// Lists <paramref name="item"/> under the next number and returns it, unless <paramref name="check"/>, shown what
    /// is listed, throws: under the list's lock, so two items that exclude each other cannot both pass it.
    /// </summary>
    internal int Add(T item, Action<IEnumerable<T>>? check)
    {
        ArgumentNullException.ThrowIfNull(item);
        lock (_items)
        {
            check?.Invoke(_items.Select(e => e.Item));
            _items.Add((++_lastId, item));
            return _lastId;
        }
    }

    /// <summary>Takes <paramref name="item"/> off the list (false when it was not listed).</summary>
    public bool Remove(T item)
    {
        lock (_items)
            return _items.RemoveAll(e => ReferenceEquals(e.Item, item)) > 0;
    }

    /// <summary>Every listed item, and forgets them all (the front end ends).</summary>
    internal IReadOnlyList<T> TakeAll()
    {
        lock (_items)
        {
            var all = _items.Select(e => e.Item).ToArray();
            _items.Clear();
            return all;
        }
    }
}
