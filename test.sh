#!/usr/bin/env bash
# Runs the whole test suite: builds, runs every test, prints "N passed, N failed, N skipped".
# Needs the .NET SDK (global.json) and python3 (the earlier service's store, for the legacy import tests); installs
# what else the tests use when it is missing (Debian packages, as root; listed below).
# Screenshots of the dashboard's pages are left in .artifacts/screenshots/. The store tests also run against a
# throw-away PostgreSQL server that scripts/postgres.sh starts (installing Debian's postgresql package when it is
# missing) and stops at the end.
set -euo pipefail
cd "$(dirname "$0")"

# What the tests use beyond the SDK, from Debian's packages when missing: the reference Prometheus text-format parser
# (prometheus_client, for /usr/bin/python3) checks GET /metrics; the bench's scenarios run in quick mode (wrk drives the
# HTTP scenario, scikit-learn is the training scenario's reference); the dashboard's browser tests drive Debian's Chromium
# through Playwright (never a downloaded browser).
missing=()
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || missing+=(python3-prometheus-client)
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || missing+=(python3-sklearn)
[[ -x /usr/bin/wrk ]] || missing+=(wrk)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if (( ${#missing[@]} )); then
  echo "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

results="$(pwd)/.artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

status=0
scripts/postgres.sh dotnet test CommentFlow.slnx -c Release --logger "trx;LogFileName=tests.trx" --results-directory "$results" "$@" || status=$?

trx=$(find "$results" -name '*.trx' | head -n 1)
if [[ -z "$trx" ]]; then
  echo "no test results found"
  exit 1
fi
python3 - "$trx" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
root = ET.parse(sys.argv[1]).getroot()
pg = [r.get("outcome") for r in root.iter(f"{{{ns['t']}}}UnitTestResult") if "Postgres" in r.get("testName", "")]
print(f"PostgreSQL: {len(pg)} tests ran against it, {pg.count('Passed')} passed")
c = root.find("t:ResultSummary/t:Counters", ns).attrib
skipped = int(c.get("notExecuted", 0))
print(f"{c['passed']} passed, {c['failed']} failed, {skipped} skipped")
PY
exit $status
