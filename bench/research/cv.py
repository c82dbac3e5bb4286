from proto import *
import itertools

def wider_specific(train):
    seen, echoed, in_t = Counter(), Counter(), Counter()
    for r in train:
        tk = g.words(g.ticket_text(r)); in_t.update(tk)
        for t in g.words(r['answer']):
            seen[t]+=1
            if t in tk: echoed[t]+=1
    n=len(train)
    return {t for t,k in seen.items() if k>=2 and echoed[t]>=0.6*k and in_t[t]<=0.05*n and not t.isdigit()}

def tok_spans(text):
    return [(m.start(), m.end(), m.group(0).lower()) for m in W.finditer(text)]

class Ctx:
    def __init__(self, fit, stats):
        self.fit=fit; self.stats=stats
        self.vec, self.X = vec_fit([g.ticket_text(r) for r in fit])
        self.byl=defaultdict(list)
        for k,r in enumerate(fit): self.byl[r['language']].append(k)
        self.atoks=[toks(r['answer']) for r in fit]
    def neighbours(self, r, k):
        s=(self.vec.transform([g.ticket_text(r)])@self.X.T).toarray()[0]
        same=self.byl.get(r['language']) or range(len(self.fit))
        top=sorted(same, key=lambda i:-s[i])[:k]
        return [(i, s[i]) for i in top]

def mbr(ctx, nb, k, T, texts=None):
    nb=nb[:k]; best=nb[0][1]
    p=[math.exp((s-best)/T) for _,s in nb]
    tk=[toks(texts[j]) if texts else ctx.atoks[i] for j,(i,_) in enumerate(nb)]
    scores=[]
    for a in range(len(nb)):
        e=p[a]
        for b in range(len(nb)):
            if a!=b: e+=p[b]*rouge(tk[a],tk[b])
        scores.append(e)
    return scores

def substitution_map(src_text, q_text, foreign):
    a=tok_spans(src_text); b=tok_spans(q_text)
    at=[x[2] for x in a][:250]; bt=[x[2] for x in b][:250]
    M={}
    for (sa,ea),(sb,eb) in lcs_align(at,bt):
        if ea-sa==eb-sb and 0<ea-sa<=4:
            for x,y in zip(range(sa,ea),range(sb,eb)):
                if at[x] in foreign and at[x] not in M:
                    M[at[x]]=q_text[b[y][0]:b[y][1]]
    return M

def adapt(ans, src_text, q_text, stats, subst=True):
    qset=set(toks(q_text))
    segs=sentences(ans)
    allf={t for t in toks(ans) if stats.specific(t) and t not in qset}
    M=substitution_map(src_text, q_text, allf) if (subst and allf) else {}
    out=[]
    nsub=0
    for sgm in segs:
        ts=toks(sgm)
        f={t for t in ts if t in allf}
        if not f: out.append(sgm); continue
        if f <= set(M):
            s2=sgm
            for m in reversed(list(W.finditer(sgm))):
                t=m.group(0).lower()
                if t in M: s2=s2[:m.start()]+M[t]+s2[m.end():]; nsub+=1
            out.append(s2)
        # else drop
    txt=''.join(out)
    txt=re.sub(r'\n{3,}','\n\n',txt).strip()
    return txt, nsub

def run(name, strategies, folds=3):
    tr,_=load(name)
    rnd=random.Random(42); fold=[rnd.randrange(folds) for _ in tr]
    res=defaultdict(lambda: defaultdict(list))
    for f in range(folds):
        fit=[r for r,x in zip(tr,fold) if x!=f]; held=[r for r,x in zip(tr,fold) if x==f]
        stats=Stats(fit); sp=g.specific_tokens(fit); sp2=wider_specific(fit)
        ctx=Ctx(fit, stats)
        for r in held:
            nb=ctx.neighbours(r, 40)
            for sname, fn in strategies.items():
                text=fn(ctx, r, nb)
                fo,gr,me=g.grounding(text, g.ticket_text(r), sp)
                fo2,_,me2=g.grounding(text, g.ticket_text(r), sp2)
                R=res[sname]
                R['rouge'].append(rouge(toks(text), toks(r['answer']))); R['foreign'].append(fo); R['mentions'].append(me)
                R['foreign2'].append(fo2); R['mentions2'].append(me2); R['len'].append(len(toks(text)))
    for sname,R in res.items():
        print(name, f"{sname:12s}", ' '.join(f"{k}={sum(v)/len(v):.3f}" for k,v in R.items()))

def s_nearest(ctx,r,nb): return ctx.fit[nb[0][0]]['answer']
def s_mbr(ctx,r,nb):
    sc=mbr(ctx,nb,20,0.05); i=max(range(len(sc)),key=lambda a:sc[a]); return ctx.fit[nb[i][0]]['answer']
def s_mbr_drop(ctx,r,nb):
    sc=mbr(ctx,nb,20,0.05); i=max(range(len(sc)),key=lambda a:sc[a]); j=nb[i][0]
    return adapt(ctx.fit[j]['answer'], g.ticket_text(ctx.fit[j]), g.ticket_text(r), ctx.stats, subst=False)[0]
def s_mbr_sub(ctx,r,nb):
    sc=mbr(ctx,nb,20,0.05); i=max(range(len(sc)),key=lambda a:sc[a]); j=nb[i][0]
    return adapt(ctx.fit[j]['answer'], g.ticket_text(ctx.fit[j]), g.ticket_text(r), ctx.stats, subst=True)[0]
def s_adapt_mbr(ctx,r,nb):
    nb=nb[:20]
    texts=[adapt(ctx.fit[j]['answer'], g.ticket_text(ctx.fit[j]), g.ticket_text(r), ctx.stats)[0] for j,_ in nb]
    sc=mbr(ctx,nb,20,0.05,texts); i=max(range(len(sc)),key=lambda a:sc[a]); return texts[i]

if __name__=='__main__':
    S=dict(nearest=s_nearest, mbr=s_mbr, mbr_drop=s_mbr_drop, mbr_sub=s_mbr_sub, adapt_mbr=s_adapt_mbr)
    run(sys.argv[1], S)
