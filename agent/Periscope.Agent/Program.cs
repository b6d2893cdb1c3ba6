using Periscope.Agent.Cli;

return await AgentCli.RunAsync(args);
