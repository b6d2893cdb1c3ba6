using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Periscope.Benchmarks.Cri.CriCollectionBenchmark).Assembly).Run(args);
