from cv import *
import pickle
def build(name, folds=3):
    tr,_=load(name)
    rnd=random.Random(42); fold=[rnd.randrange(folds) for _ in tr]
    out=[]
    for f in range(folds):
        fit=[r for r,x in zip(tr,fold) if x!=f]; held=[r for r,x in zip(tr,fold) if x==f]
        ctx=Ctx(fit, Stats(fit))
        qs=[(r, ctx.neighbours(r,20)) for r in held]
        out.append((fit, qs))
    pickle.dump(out, open(f'/tmp/{name}.pkl','wb'))
build(sys.argv[1])
