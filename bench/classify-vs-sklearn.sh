#!/usr/bin/env bash
# ML.NET (commentflow evaluate) next to scikit-learn (../shared/bench/sklearn_baseline.py, retrieval_baseline.py)
# on the identical fixed splits, in the same run. Needs Debian's python3-sklearn (installed when missing, as root).
# Usage: bench/classify-vs-sklearn.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$root/../shared"
if ! /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-sklearn >/dev/null
fi
dotnet build -c Release "$root/src/CommentFlow" -v q -nologo >/dev/null
cf="$root/src/CommentFlow/bin/Release/net10.0/commentflow"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

printf '%-18s %-6s | %-22s | %-22s | %-22s\n' data label "ML.NET acc/F1/fit s" "sklearn LR-bal acc/F1/fit s" "majority acc/F1"
for d in tickets-multilang tickets-en-de; do
  for l in type queue; do
    split="$shared/bench/splits/${d}_${l}.json"
    "$cf" evaluate --csv "$shared/data/$d.csv" --split "$split" --label "$l" --json > "$out/cf.json"
    /usr/bin/python3 "$shared/bench/sklearn_baseline.py" --csv "$shared/data/$d.csv" --label "$l" --split-in "$split" 2>/dev/null > "$out/sk.jsonl"
    python3 - "$d" "$l" "$out/cf.json" "$out/sk.jsonl" <<'PY'
import json, sys
d, l, cf, sk = sys.argv[1:]
c = json.load(open(cf))
s = {r["model"]: r for r in map(json.loads, open(sk)) if "model" in r}
b = s["linear_balanced"]
print(f"{d:18} {l:6} | {c['accuracy']:.3f} {c['macro_f1']:.3f} {c['fit_seconds']:5.1f}      | "
      f"{b['accuracy']:.3f} {b['macro_f1']:.3f} {b.get('fit_s', 0):5.1f}      | {c['majority']['accuracy']:.3f} {c['majority']['macro_f1']:.3f}")
PY
    if [[ $l == type ]]; then
      /usr/bin/python3 "$shared/bench/retrieval_baseline.py" --csv "$shared/data/$d.csv" --split-in "$split" > "$out/rt.json"
      python3 - "$d" "$out/cf.json" "$out/rt.json" <<'PY'
import json, sys
d, cf, rt = sys.argv[1:]
c, r = json.load(open(cf))["retrieval"], json.load(open(rt))
print(f"  retrieval {d}: own ROUGE-L {c['rouge_l']:.3f} (token F1 {c['token_f1']:.3f}, k={c['neighbours']}, T={c['temperature']}) | "
      f"sklearn nearest {r['nn_rouge_l']:.3f} | random same language {r['random_same_language_rouge_l']:.3f}")
PY
    fi
  done
done
