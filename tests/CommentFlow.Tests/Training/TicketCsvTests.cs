using CommentFlow.Training;

namespace CommentFlow.Tests.Training;

public sealed class TicketCsvTests
{
    [Fact]
    public void Open_QuotedNewlinesShortAndTruncatedRecords_IndexedAsRecordsAndMarked()
    {
        var path = Path.Combine(TempDir.Create(), "tickets.csv");
        File.WriteAllText(path,
            "subject,body,answer,type\n" +
            "Login,\"Cannot log in\nsince Monday\",\"Reset, done\",Incident\n" +
            "Short,row\n" +
            "Printer,\"Jam \"\"again\"\"\",Cleared,Request\n" +
            "Broken,\"never closed,x,y\n");

        var (header, records) = TicketCsv.Open(path);
        var list = records.ToList();

        Assert.Equal(["subject", "body", "answer", "type"], header);
        Assert.Equal("Cannot log in\nsince Monday", list[0].Fields[1]);
        Assert.True(list[0].Complete);
        Assert.Equal(2, list[0].Line);
        Assert.False(list[1].Complete);
        Assert.Equal(1, list[1].Index);
        Assert.Equal(4, list[1].Line);
        Assert.Equal("Jam \"again\"", list[2].Fields[1]);
        Assert.Equal(2, list[2].Index);
        Assert.False(list[^1].Complete);
    }

    [Fact]
    public void SharedData_RecordCountsMatchTheSplitFiles()
    {
        foreach (var name in (string[])["tickets-multilang", "tickets-en-de"])
        {
            var (tickets, _) = LabelledTickets.Read(Path.Combine(Paths.Shared, "data", name + ".csv"), "type");
            var split = SplitFile.Load(Path.Combine(Paths.Shared, "bench", "splits", name + "_type.json"));
            var indices = tickets.Select(t => t.Index).ToHashSet();
            Assert.Subset(indices, split.Train.ToHashSet());
            Assert.Subset(indices, split.Test.ToHashSet());
            Assert.Empty(split.Train.Intersect(split.Test));
        }
    }
}
