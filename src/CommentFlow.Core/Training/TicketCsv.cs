using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace CommentFlow.Training;

/// <summary>
/// One data record of a tickets CSV. <see cref="Index"/> is the 0-based position among data records as an RFC 4180
/// reader sees them (header not counted, quoted fields may span lines), the index the shared split files use;
/// <see cref="Line"/> is where the record starts, for error messages.
/// </summary>
internal sealed record CsvTicket(int Index, int Line, string[] Fields, bool Complete, string? Problem)
{
    public string Get(int column) => column >= 0 && column < Fields.Length ? Fields[column] : "";
}

/// <summary>Streams a tickets CSV (RFC 4180, UTF-8); malformed records are returned, marked, never thrown.</summary>
internal static class TicketCsv
{
    public static (string[] Header, IEnumerable<CsvTicket> Records) Open(string path)
    {
        var header = ReadHeader(path);
        return (header, Read(path, header.Length));
    }

    private static string[] ReadHeader(string path)
    {
        using var reader = new StreamReader(path);
        using var csv = new CsvParser(reader, Configuration());
        return csv.Read() ? csv.Record ?? [] : throw new InvalidDataException($"'{path}' is empty.");
    }

    private static IEnumerable<CsvTicket> Read(string path, int columns)
    {
        string? problem = null;
        var config = Configuration() with { BadDataFound = args => problem ??= $"bad quoting near: {Truncate(args.RawRecord)}" };
        using var reader = new StreamReader(path);
        using var csv = new CsvParser(reader, config);
        csv.Read(); // header
        var index = 0;
        var line = csv.RawRow + 1;
        while (true)
        {
            problem = null;
            bool more;
            try
            {
                more = csv.Read();
            }
            catch (CsvHelperException ex)
            {
                problem = ex.Message;
                more = false;
            }
            if (!more)
            {
                if (problem is not null)
                {
                    yield return new CsvTicket(index, line, [], false, problem);
                }
                yield break;
            }
            var fields = csv.Record ?? [];
            if (problem is null && fields.Length != columns)
            {
                problem = $"{fields.Length} fields where the header has {columns}";
            }
            yield return new CsvTicket(index, line, fields, problem is null, problem);
            index++;
            line = csv.RawRow + 1;
        }
    }

    private static CsvConfiguration Configuration() => new(CultureInfo.InvariantCulture)
    {
        HasHeaderRecord = false,
        DetectColumnCountChanges = false,
        MissingFieldFound = null,
    };

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..60] + "…";
}
