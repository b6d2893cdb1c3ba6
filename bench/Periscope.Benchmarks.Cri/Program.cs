using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "pod")
{
    // Not a BenchmarkDotNet benchmark: whole pod starts in a real containerd, medians printed.
    return await Periscope.Benchmarks.Cri.PodBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
}

BenchmarkSwitcher.FromAssembly(typeof(Periscope.Benchmarks.Cri.CriCollectionBenchmark).Assembly).Run(args);
return 0;
