from fast import *
from exp2 import weights, segs
def pool_of(ctx, r, nb, P, qset, filt):
    pool=[]; seen=set()
    for rank,(j,_) in enumerate(nb[:P]):
        ss=[s for s in segs(ctx.fit[j]['answer'])]
        content=[s for s in ss if toks(s)]
        for k,s in enumerate(content):
            key=' '.join(toks(s))
            if key in seen: continue
            seen.add(key)
            if filt and any(ctx.stats.specific(t) and t not in qset for t in toks(s)): continue
            pool.append((k/len(content), rank, s.strip()))
    return pool
def compose(ctx, r, nb, P=8, R=10, filt=True, T=0.05, maxsteps=14):
    qset=set(toks(g.ticket_text(r)))
    w=weights(nb,T,R); refs=[ctx.atoks[j] for j,_ in nb[:R]]
    pool=pool_of(ctx,r,nb,P,qset,filt)
    chosen=[]; best=0.0
    for _ in range(maxsteps):
        cand=None
        for p in pool:
            if p in chosen: continue
            trial=sorted(chosen+[p])
            tt=toks(' '.join(x[2] for x in trial))
            v=sum(wi*rouge(tt,rt) for wi,rt in zip(w,refs))
            if v>best+1e-9 and (cand is None or v>cand[0]): cand=(v,p)
        if cand is None: break
        best=cand[0]; chosen.append(cand[1])
    chosen.sort()
    return '\n'.join(x[2] for x in chosen)
def s_comp(ctx,r,nb,c): return compose(ctx,r,nb,filt=False)
def s_comp_f(ctx,r,nb,c): t=compose(ctx,r,nb); c['cf']=t; return t
def s_comp_f_subj(ctx,r,nb,c):
    subj=(r['subject'].strip() or r['body'].strip().split('\n')[0]); t=c['cf']; lines=t.split('\n',1)
    if len(lines)==2 and len(toks(lines[0]))<=4: return lines[0]+'\n'+subj+'\n'+lines[1]
    return subj+'\n'+t
if __name__=='__main__':
    evaluate(sys.argv[1], dict(comp=s_comp, comp_f=s_comp_f, comp_f_subj=s_comp_f_subj), limit=150)
