from exp4 import *
def compose3(ctx,r,nb,c,P=8,R=10,T=0.05,lam=0.0,maxsteps=16):
    key=('pool',P)
    if key not in c: c[key]=pool_adapted(ctx,r,nb,P)
    pool=c[key]
    w=weights(nb,T,R); refs=[ctx.atoks[j] for j,_ in nb[:R]]
    qt=toks(g.ticket_text(r))
    chosen=[]; best=0.0
    for _ in range(maxsteps):
        cand=None
        for p in pool:
            if p in chosen: continue
            trial=sorted(chosen+[p]); tt=toks(' '.join(x[2] for x in trial))
            v=sum(wi*rouge(tt,rt) for wi,rt in zip(w,refs))/sum(w) + (lam*rouge(tt,qt) if lam else 0)
            if v>best+1e-9 and (cand is None or v>cand[0]): cand=(v,p)
        if cand is None: break
        best=cand[0]; chosen.append(cand[1])
    chosen.sort(); return '\n'.join(x[2] for x in chosen)
V={}
for lam in (0,0.3,1.0):
    V[f'lam{lam}']=(lambda lam: lambda ctx,r,nb,c: compose3(ctx,r,nb,c,lam=lam))(lam)
V['T0.2']=lambda ctx,r,nb,c: compose3(ctx,r,nb,c,T=0.2)
V['R20']=lambda ctx,r,nb,c: compose3(ctx,r,nb,c,R=20)
V['P4']=lambda ctx,r,nb,c: compose3(ctx,r,nb,c,P=4)
V['nearest']=lambda ctx,r,nb,c: ctx.fit[nb[0][0]]['answer']
if __name__=='__main__':
    evaluate(sys.argv[1], V, limit=100)
