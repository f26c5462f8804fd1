using LeadScoring.Cli;

return LeadScoreCli.Run(args, CliEnvironment.FromConsole());
