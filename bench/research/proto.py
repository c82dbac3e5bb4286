import sys, math, re, random
from collections import Counter, defaultdict
from common import *
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

W = re.compile(r"\w+")
def toks(s): return [m.group(0).lower() for m in W.finditer(s)]

def vec_fit(texts):
    vec = FeatureUnion([("w", TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))),
                        ("c", TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 5), min_df=2))])
    X = vec.fit_transform(texts)
    return vec, X

class Stats:
    """own specificity: echo propensity and rarity, learnt from (ticket, answer) pairs"""
    def __init__(self, train, min_echo=0.6, max_df=0.06):
        a, e, d = Counter(), Counter(), Counter()
        for r in train:
            tk = set(toks(g.ticket_text(r)))
            d.update(tk)
            for t in set(toks(r['answer'])):
                a[t]+=1
                if t in tk: e[t]+=1
        self.a, self.e, self.d, self.n = a, e, d, len(train)
        self.min_echo, self.max_df = min_echo, max_df
    def echo(self, t): return (self.e[t]+0.5)/(self.a[t]+1)
    def specific(self, t):
        if t.isdigit(): return False
        return self.echo(t) >= self.min_echo and self.d[t] <= self.max_df*self.n

SENT = re.compile(r"[^\n.!?]*(?:[.!?]+|\n|$)")
def sentences(text):
    out=[]; 
    for m in re.finditer(r"[^\n]*\n?", text):
        line=m.group(0)
        if not line: continue
        pos=0
        for s in re.finditer(r".*?(?:[.!?](?=\s)|$)", line.rstrip('\n'), flags=re.S):
            if s.group(0): out.append(s.group(0))
        if line.endswith('\n'): out.append('\n')
    return out

def lcs_align(a, b):
    """pairs of gaps (a_slice, b_slice) between LCS-matched tokens"""
    n, m = len(a), len(b)
    L = [[0]*(m+1) for _ in range(n+1)]
    for i in range(n-1,-1,-1):
        for j in range(m-1,-1,-1):
            L[i][j] = L[i+1][j+1]+1 if a[i]==b[j] else max(L[i+1][j], L[i][j+1])
    i=j=0; gaps=[]; ga=gi=0; gb=0
    sa, sb = 0, 0
    while i<n and j<m:
        if a[i]==b[j]:
            if i>sa or j>sb: gaps.append(((sa,i),(sb,j)))
            i+=1; j+=1; sa, sb = i, j
        elif L[i+1][j] >= L[i][j+1]: i+=1
        else: j+=1
    gaps.append(((sa,n),(sb,m)))
    return gaps

def lcs_len(a, b):
    """bit-parallel LCS length (Hyyrö) over token lists"""
    if not a or not b: return 0
    masks = {}
    for i, t in enumerate(a):
        masks[t] = masks.get(t, 0) | (1 << i)
    full = (1 << len(a)) - 1
    V = full
    for t in b:
        U = V & masks.get(t, 0)
        V = ((V + U) | (V - U)) & full
    return len(a) - bin(V).count('1')

def rouge(a, b):
    l = lcs_len(a, b)
    if l == 0: return 0.0
    p, r = l/len(a), l/len(b)
    return 2*p*r/(p+r)
