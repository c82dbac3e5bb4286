from fast import *
from exp2 import weights, segs

CLAUSE = re.compile(r"[^\n.!?;:,()\[\]\"]+")

def spec_score(stats, t):
    # how much a token says about its ticket: echo propensity x rarity (unknown tokens: rare, neutral echo)
    if t.isdigit(): return 0.0
    d=stats.d[t]; n=stats.n
    idf=math.log((n+1)/(d+1))
    e=stats.echo(t) if stats.a[t] else 0.6
    return idf*e if d<=stats.max_df*n else 0.0

def topic_phrase(stats, r, maxlen=6):
    """the ticket's key phrase: the window (<= maxlen tokens, within one clause) with the most specificity"""
    best=(0.0,None)
    for part,bonus in ((r['subject'],1.3),(r['body'],1.0)):
        for cm in CLAUSE.finditer(part):
            ws=[(m.start()+cm.start(), m.end()+cm.start(), m.group(0).lower()) for m in W.finditer(cm.group(0))]
            sc=[spec_score(stats,t) for _,_,t in ws]
            for i in range(len(ws)):
                if sc[i]<=0: continue
                tot=0
                for j in range(i, min(len(ws), i+maxlen)):
                    tot+=sc[j]
                    if sc[j]>0:
                        v=bonus*tot/(1+0.15*(j-i))
                        if v>best[0]: best=(v, part[ws[i][0]:ws[j][1]])
    return best[1]

def adapt_sentence(stats, sent, S, Q, phrase, common):
    ws=list(W.finditer(sent)); tl=[m.group(0).lower() for m in ws]
    foreign=[k for k,t in enumerate(tl) if stats.specific(t) and t not in Q]
    if not foreign: return sent, False
    if phrase is None: return None, False
    lo,hi=min(foreign),max(foreign)
    # grow over echoed tokens of the source ticket that this ticket does not have; bridge common words between them
    def echo(k): return tl[k] in S and tl[k] not in Q and tl[k] not in common
    while lo-1>=0 and echo(lo-1): lo-=1
    while hi+1<len(tl) and echo(hi+1): hi+=1
    # everything foreign must sit inside the span and the span must not cross a clause boundary
    seg=sent[ws[lo].start():ws[hi].end()]
    if re.search(r"[.!?;:\n]", seg): return None, False
    if hi-lo+1>8: return None, False
    return sent[:ws[lo].start()]+phrase+sent[ws[hi].end():], True
