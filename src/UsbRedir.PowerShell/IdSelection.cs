namespace UsbRedir.PowerShell;

/// <summary>
/// What -Id (and a state filter) select among the objects a Get-/Stop-/Remove- cmdlet manages, the way Get-Job -Id does:
/// matches in id order, plus one not-found error per id that names nothing, so the other ids still work.
/// </summary>
internal static class IdSelection
{
    public static (IReadOnlyList<T> Found, IReadOnlyList<UsbRedirException> Missing) Select<T>(
        IReadOnlyList<T> all, Func<T, int> idOf, IReadOnlyCollection<int>? ids, Func<T, bool> filter, Func<int, UsbRedirException> notFound)
    {
        var byId = ids is null ? all : all.Where(x => ids.Contains(idOf(x))).ToList();
        var found = byId.Where(filter).OrderBy(idOf).ToList();
        var missing = (ids ?? []).Distinct().Where(id => all.All(x => idOf(x) != id)).Select(notFound).ToList();
        return (found, missing);
    }
}
