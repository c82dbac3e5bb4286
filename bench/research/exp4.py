from adapt2 import *
from exp3 import compose as _c
COMMON={}
def common_words(stats):
    k=id(stats)
    if k not in COMMON: COMMON[k]={t for t,d in stats.d.items() if d>0.15*stats.n}
    return COMMON[k]
def pool_adapted(ctx, r, nb, P):
    Q=set(toks(g.ticket_text(r))); phrase=topic_phrase(ctx.stats, r); common=common_words(ctx.stats)
    pool=[]; seen=set()
    for rank,(j,_) in enumerate(nb[:P]):
        S=set(toks(g.ticket_text(ctx.fit[j])))
        content=[s for s in segs(ctx.fit[j]['answer']) if toks(s)]
        for k,s in enumerate(content):
            a,sub=adapt_sentence(ctx.stats, s.strip(), S, Q, phrase, common)
            if a is None: continue
            key=' '.join(toks(a))
            if key in seen: continue
            seen.add(key); pool.append((k/len(content), rank, a, sub))
    return pool
def compose2(ctx,r,nb,P=8,R=10,T=0.05,maxsteps=14, mention_bonus=0.0):
    w=weights(nb,T,R); refs=[ctx.atoks[j] for j,_ in nb[:R]]
    pool=pool_adapted(ctx,r,nb,P); chosen=[]; best=0.0
    for _ in range(maxsteps):
        cand=None
        for p in pool:
            if p in chosen: continue
            trial=sorted(chosen+[p]); tt=toks(' '.join(x[2] for x in trial))
            v=sum(wi*rouge(tt,rt) for wi,rt in zip(w,refs))
            if v>best+1e-9 and (cand is None or v>cand[0]): cand=(v,p)
        if cand is None: break
        best=cand[0]; chosen.append(cand[1])
    chosen.sort(); return '\n'.join(x[2] for x in chosen)
def s_phrase(ctx,r,nb,c): return str(topic_phrase(ctx.stats,r))
def s_c2(ctx,r,nb,c): return compose2(ctx,r,nb)
if __name__=='__main__':
    evaluate(sys.argv[1], dict(c2=s_c2), limit=150)
