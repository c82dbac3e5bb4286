from cv import *
import pickle
def evaluate(name, strategies, limit=None):
    data=pickle.load(open(f'/tmp/{name}.pkl','rb'))
    res=defaultdict(lambda: defaultdict(list))
    for fit, qs in data:
        stats=Stats(fit); sp=g.specific_tokens(fit)
        class C: pass
        ctx=C(); ctx.fit=fit; ctx.stats=stats; ctx.atoks=[toks(r['answer']) for r in fit]
        for r,nb in qs[:limit]:
            cache={}
            for sname, fn in strategies.items():
                text=fn(ctx, r, nb, cache)
                fo,gr,me=g.grounding(text, g.ticket_text(r), sp)
                R=res[sname]
                R['rouge'].append(rouge(toks(text), toks(r['answer']))); R['foreign'].append(fo); R['mentions'].append(me); R['len'].append(len(toks(text)))
    for sname,R in res.items():
        print(name, f"{sname:14s}", ' '.join(f"{k}={sum(v)/len(v):.3f}" for k,v in R.items()), flush=True)
