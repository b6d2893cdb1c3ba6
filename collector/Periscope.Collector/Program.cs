using Periscope.Collector.Cli;

return await CollectorCli.RunAsync(args);
