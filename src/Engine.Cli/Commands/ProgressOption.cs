using System.CommandLine;

namespace Engine.Cli.Commands;

/// <summary><c>--progress none|json</c>, shared by migrate and incoming.</summary>
internal static class ProgressOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--progress")
        {
            Description = "json: one query-migrate-style JSON object per line on stdout every second while the migration runs, then the final object (JSON Lines); none: only the result.",
            DefaultValueFactory = _ => "none",
        };
        option.AcceptOnlyFromAmong("none", "json");
        return option;
    }

    public static bool IsJson(ParseResult parse, Option<string> option) => parse.GetValue(option) == "json";
}
