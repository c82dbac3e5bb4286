from fast import *
def mbr_i(ctx,nb,cache,K=20,T=0.05):
    if ('mbr',K,T) not in cache:
        sc=mbr(ctx,nb,K,T); cache[('mbr',K,T)]=max(range(len(sc)),key=lambda a:sc[a])
    return cache[('mbr',K,T)]
def segs(text):
    return [s for s in sentences(text)]
def weights(nb,T=0.05,K=20):
    best=nb[0][1]; return [math.exp((s-best)/T) for _,s in nb[:K]]
def exp_gain(htoks, refs, w, skip):
    return sum(wi*rouge(htoks, rt) for k,(wi,rt) in enumerate(zip(w,refs)) if k!=skip)
def prune(ctx, r, nb, i, segments, foreign_drop):
    w=weights(nb); refs=[ctx.atoks[j] for j,_ in nb[:20]]
    keep=[True]*len(segments)
    if foreign_drop:
        qset=set(toks(g.ticket_text(r)))
        for k,s in enumerate(segments):
            if any(ctx.stats.specific(t) and t not in qset for t in toks(s)): keep[k]=False
    def cur():
        return toks(''.join(s for s,k in zip(segments,keep) if k))
    best=exp_gain(cur(),refs,w,i)
    improved=True
    while improved:
        improved=False
        for k in range(len(segments)):
            if keep[k] and toks(segments[k]):
                keep[k]=False; v=exp_gain(cur(),refs,w,i)
                if v>best+1e-9: best=v; improved=True
                else: keep[k]=True
    return ''.join(s for s,k in zip(segments,keep) if k).strip()
def s_mbr(ctx,r,nb,c): return ctx.fit[nb[mbr_i(ctx,nb,c)][0]]['answer']
def s_prune(ctx,r,nb,c):
    i=mbr_i(ctx,nb,c); return prune(ctx,r,nb,i,segs(ctx.fit[nb[i][0]]['answer']),False)
def s_prune_f(ctx,r,nb,c):
    i=mbr_i(ctx,nb,c); t=prune(ctx,r,nb,i,segs(ctx.fit[nb[i][0]]['answer']),True); c['pf']=t; return t
def s_prune_f_subj(ctx,r,nb,c):
    t=c['pf']; lines=t.split('\n',1)
    subj=(r['subject'].strip() or r['body'].strip().split('\n')[0])
    if len(lines)==2 and len(toks(lines[0]))<=4: return lines[0]+'\n'+subj+'\n'+lines[1]
    return subj+'\n'+t
if __name__=="__main__": evaluate(sys.argv[1], dict(mbr=s_mbr, prune=s_prune, prune_f=s_prune_f, prune_f_subj=s_prune_f_subj))
