using System.CommandLine;
using System.Text.Json;
using CommentFlow.Api.Access;
using Spectre.Console;

namespace CommentFlow.Cli;

/// <summary><c>keys new</c>: a random API key, printed once, and the configuration entry holding only its hash.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "What the key is for (letters, digits, '.', '_', '-'); shown in logs and rate limits.", Required = true };
        name.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (string.IsNullOrEmpty(value) || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                result.AddError("--name takes letters, digits, '.', '_' and '-' only, so it is safe in JSON and environment variables.");
            }
        });
        var role = new Option<string>("--role") { Description = "agent: suggestions, feedback, warm-up, stats. admin: everything.", Required = true };
        role.AcceptOnlyFromAmong(AccessRoles.Agent, AccessRoles.Admin);
        var json = new Option<bool>("--json") { Description = "Print name, role, key and hash as JSON." };

        var create = new Command("new", "Create a key. The key is printed once and never stored; the configuration holds its SHA-256.") { name, role, json };
        create.SetAction(parse =>
        {
            var (keyName, keyRole) = (parse.GetValue(name)!, parse.GetValue(role)!);
            var key = ApiKeys.NewKey();
            var hash = ApiKeys.Hash(key);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { Name = keyName, Role = keyRole, Key = key, Hash = hash }, CliJson.Options));
                return 0;
            }
            // Values to copy go out with Console.WriteLine: Spectre would wrap them at the console width.
            AnsiConsole.MarkupLineInterpolated($"New [bold]{keyRole}[/] key [bold]{keyName}[/], shown only this once; store it now:");
            Console.WriteLine();
            Console.WriteLine(key);
            Console.WriteLine();
            AnsiConsole.MarkupLine($"Add to [bold]{AccessOptions.Section}:Keys[/] (appsettings.json) and restart the server:");
            Console.WriteLine();
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, string> { ["Name"] = keyName, ["Hash"] = hash, ["Role"] = keyRole }));
            Console.WriteLine();
            AnsiConsole.MarkupLine("or set these environment variables, N being the next free index from 0:");
            Console.WriteLine();
            var prefix = AccessOptions.Section.Replace(":", "__", StringComparison.Ordinal) + "__Keys__N__";
            Console.WriteLine($"{prefix}Name={keyName}");
            Console.WriteLine($"{prefix}Hash={hash}");
            Console.WriteLine($"{prefix}Role={keyRole}");
            Console.WriteLine();
            AnsiConsole.MarkupLine($"Clients send the key in the [bold]{ApiKeys.Header}[/] header.");
            return 0;
        });

        return new Command("keys", "API keys for the HTTP server.") { create };
    }
}
