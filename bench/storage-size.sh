#!/usr/bin/env bash
# Bytes per sample of the SQLite store on ../shared/data, payloads plain vs GZip-compressed, next to the
# earlier service's .json.gz. Each CSV row becomes a legacy sample (subject, body, the agent's answer as
# the suggestion), imported with the real `commentflow import-legacy`.
# Usage: bench/storage-size.sh [CSV ...]   (default: every CSV in ../shared/data)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
csvs=("$@")
[[ ${#csvs[@]} -gt 0 ]] || csvs=("$root"/../shared/data/*.csv)

python3 - "$work/legacy.json" "${csvs[@]}" <<'PY'
import csv, gzip, hashlib, json, sys
out, files = sys.argv[1], sys.argv[2:]
samples, seen = [], set()
for f in files:
    with open(f, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            s, d = row["subject"] or "", row["body"] or ""
            h = hashlib.md5(f"{s}|{d}|".encode()).hexdigest()
            if h in seen:
                continue
            seen.add(h)
            samples.append({"context_hash": h, "ticket_key": None, "timestamp": "2025-12-07T23:58:43.823087",
                "input": {"summary": s, "description": d, "issue_type": row["type"], "status": "Open",
                          "priority": row["priority"], "comments": [], "comments_count": 0},
                "output": {"suggestions": [{"text": row["answer"], "type": "resolution", "confidence": 1.0}],
                           "suggestions_count": 1, "model": "history"}})
doc = {"training_samples": samples, "metadata": {"created": "2025-12-07T23:58:43.823087",
       "last_modified": "2025-12-07T23:58:43.823087", "total_samples": len(samples), "compressed": True, "version": "1.0"}}
with gzip.open(out + ".gz", "wt", encoding="utf-8") as fh:   # the earlier store: indent=2, gzip level 9
    json.dump(doc, fh, indent=2, ensure_ascii=False)
print(len(samples))
PY

dotnet build -c Release "$root/src/CommentFlow" -v q -nologo >/dev/null
cf="$root/src/CommentFlow/bin/Release/net10.0/commentflow"
n=$(python3 -c "import gzip,json;print(len(json.load(gzip.open('$work/legacy.json.gz'))['training_samples']))")
size() { # store size after a checkpoint and VACUUM, so free pages and the WAL do not count
  python3 -c "import sqlite3,os;c=sqlite3.connect('$1');c.execute('PRAGMA wal_checkpoint(TRUNCATE)');c.execute('VACUUM');c.close();print(os.path.getsize('$1'))"
}
"$cf" import-legacy "$work/legacy.json.gz" --CommentFlow:DataDir="$work/plain" --CommentFlow:Storage:CompressionThreshold=2147483647 >/dev/null
"$cf" import-legacy "$work/legacy.json.gz" --CommentFlow:DataDir="$work/gzip" >/dev/null
plain=$(size "$work/plain/commentflow.db"); gz=$(size "$work/gzip/commentflow.db"); legacy=$(stat -c %s "$work/legacy.json.gz")
printf '%-42s %12s %10s\n' "store ($n samples)" "bytes" "per sample"
printf '%-42s %12d %10d\n' "SQLite, plain JSON payloads" "$plain" $((plain / n))
printf '%-42s %12d %10d\n' "SQLite, GZip payloads (default >= 100)" "$gz" $((gz / n))
printf '%-42s %12d %10d\n' "earlier service, ml_training_data.json.gz" "$legacy" $((legacy / n))
