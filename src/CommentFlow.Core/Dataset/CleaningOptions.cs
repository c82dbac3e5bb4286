namespace CommentFlow.Dataset;

/// <summary>The cleaning rules, each switchable. Applied to training and shown by <c>dataset report</c>.</summary>
internal sealed class CleaningOptions
{
    public const string Section = "CommentFlow:Cleaning";

    /// <summary>Drop suggestions below this confidence (history replies are 1.0). 0 turns the rule off.</summary>
    public double MinConfidence { get; set; } = 0.7;

    /// <summary>Drop suggestions shorter than this many characters (after trimming). 0 turns the rule off.</summary>
    public int MinTextLength { get; set; } = 10;

    /// <summary>Drop suggestions whose type is not diagnostic, action or resolution. Off by default: history replies have no type.</summary>
    public bool DropUnknownTypes { get; set; }

    /// <summary>Drop a suggestion that nearly repeats an earlier one of the same sample (same words, case and punctuation aside).</summary>
    public bool DropNearDuplicates { get; set; } = true;

    /// <summary>Drop samples the rules engine answered: they teach nothing the rules file does not say.</summary>
    public bool DropRulesEngine { get; set; } = true;

    /// <summary>
    /// Where an agent's reply posted in Jira answers a context (accepted, edited or written), keep the agents' texts and drop
    /// the suggestions nobody vouched for: what was really posted is the best example there is.
    /// </summary>
    public bool PreferAgentReplies { get; set; } = true;

    /// <summary>
    /// Learn from agents' internal notes too. Off by default: the model writes replies customers read, and internal notes
    /// speak to colleagues (Jira Service Management tells them apart; elsewhere every comment counts as public).
    /// </summary>
    public bool TrainOnInternalNotes { get; set; }
}
