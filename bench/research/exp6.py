from exp5 import *
def qpart(ctx, r):
    return {t for t in set(toks(g.ticket_text(r))) if spec_score(ctx.stats,t)>0 and ctx.stats.specific(t)}
def compose4(ctx,r,nb,c,P=8,R=10,T=0.2,lam=1.0,maxsteps=16,must=True):
    key=('pool',P)
    if key not in c: c[key]=pool_adapted(ctx,r,nb,P)
    pool=c[key]
    w=weights(nb,T,R); refs=[ctx.atoks[j] for j,_ in nb[:R]]; sw=sum(w)
    qt=toks(g.ticket_text(r))
    def obj(ch):
        tt=toks(' '.join(x[2] for x in sorted(ch)))
        return sum(wi*rouge(tt,rt) for wi,rt in zip(w,refs))/sw + lam*rouge(tt,qt)
    chosen=[]; best=0.0
    for _ in range(maxsteps):
        cand=None
        for p in pool:
            if p in chosen: continue
            v=obj(chosen+[p])
            if v>best+1e-9 and (cand is None or v>cand[0]): cand=(v,p)
        if cand is None: break
        best=cand[0]; chosen.append(cand[1])
    if must:
        qp=qpart(ctx,r)
        if qp and not any(set(toks(x[2]))&qp for x in chosen):
            opts=[p for p in pool if p not in chosen and set(toks(p[2]))&qp]
            if opts: chosen.append(max(opts, key=lambda p: obj(chosen+[p])))
    chosen.sort(); return '\n'.join(x[2] for x in chosen)
V={}
for T in (0.2,0.5):
    for lam in (1.0,2.0):
        V[f'T{T}_l{lam}']=(lambda T,lam: lambda ctx,r,nb,c: compose4(ctx,r,nb,c,T=T,lam=lam))(T,lam)
V['T0.2_l1_nomust']=lambda ctx,r,nb,c: compose4(ctx,r,nb,c,must=False)
V['nearest']=lambda ctx,r,nb,c: ctx.fit[nb[0][0]]['answer']
if __name__=='__main__':
    evaluate(sys.argv[1], V, limit=100)
