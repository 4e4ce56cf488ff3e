using SharpFuzz;
using UsbRedir.Fuzz;

// UsbRedir.Fuzz TARGET                 under afl-fuzz: SharpFuzz's out-of-process fork server (the input arrives from
//                                      AFL; an exception escaping the target is reported as a crash); elsewhere: one run on stdin
// UsbRedir.Fuzz TARGET FILE|DIR ...    replays inputs (a corpus, AFL's crashes; AFL's README.txt is skipped), exit 1
//                                      when one of them crashes
// UsbRedir.Fuzz --list                 the targets, one per line: name, tab, description
// UsbRedir.Fuzz --write-seeds REPO      (re)writes the seed corpus REPO/fuzz/corpus/TARGET/* (SeedCorpus)
if (args.Length == 2 && args[0] == "--write-seeds")
{
    Console.WriteLine($"{SeedCorpus.Write(args[1])} seeds written to {Path.Combine(args[1], "fuzz", "corpus")}");
    return 0;
}
if (args.Length == 1 && args[0] == "--list")
{
    foreach (var (name, target) in FuzzTargets.All)
        Console.WriteLine($"{name}\t{target.Description}");
    return 0;
}
if (args.Length == 0 || !(FuzzTargets.All.TryGetValue(args[0], out var chosen) || FuzzTargets.Hidden.TryGetValue(args[0], out chosen)))
{
    Console.Error.WriteLine($"usage: UsbRedir.Fuzz TARGET [FILE|DIR ...]; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}
if (args.Length == 1)
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        chosen.Run(buffer.ToArray());
    });
    return 0;
}

var files = args.Skip(1).SelectMany(a => Directory.Exists(a) ? Directory.GetFiles(a).Where(f => Path.GetFileName(f) != "README.txt").Order(StringComparer.Ordinal) : (IEnumerable<string>)[a]).ToList();
var crashed = 0;
foreach (var file in files)
{
    try
    {
        chosen.Run(File.ReadAllBytes(file));
    }
    catch (Exception e)
    {
        crashed++;
        Console.WriteLine($"CRASH {file}: {e}");
    }
}
Console.WriteLine($"{args[0]}: {files.Count} inputs, {crashed} crashed");
return crashed == 0 ? 0 : 1;
