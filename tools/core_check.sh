#!/usr/bin/env bash
# Core-only install check (`make core-check`, run by .ci/run after `make test`).
#
# Installs zoning with its core dependencies ONLY (`pip install .`: not editable, no extras) into
# a fresh venv, then runs the default CLI paths on the sample layers (built by `make layers`):
# batch screen with reports, single-site screen, carbon stock and program, map, county export.
# Each step must exit 0 and write its files. Catches a dependency that only an extra (or the dev
# venv) provides. Prints one line per step and closes with "core-check: N passed, N failed".
#
#   PYTHON      interpreter for the venv (default python3)
#   CORE_VENV   where the venv goes (default /tmp/zoning-core; recreated every run)
#   CORE_KEEP=1 keep the output folder (otherwise removed when every step passed)
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${CORE_VENV:-/tmp/zoning-core}
CATALOG=layers/catalog.yaml
SAMPLE=layers/nanping/generated
OUT=$(mktemp -d "${TMPDIR:-/tmp}/zoning-core-out.XXXXXX")
LOG="$OUT/log"
mkdir -p "$LOG"
export MPLBACKEND=Agg
T0=$(date +%s)
passed=0
failed=0
failures=()

# run NAME EXPECTED-FILE-GLOBS... -- COMMAND...: one line per step, the log's tail on failure.
run() {
  local name=$1; shift
  local expect=()
  while [ "$1" != "--" ]; do expect+=("$1"); shift; done
  shift
  local t=$(date +%s) rc missing=()
  "$@" >"$LOG/$name.txt" 2>&1 </dev/null
  rc=$?
  if [ $rc -eq 0 ]; then
    local g
    for g in "${expect[@]}"; do
      compgen -G "$g" >/dev/null || missing+=("$g")
    done
  fi
  if [ $rc -eq 0 ] && [ ${#missing[@]} -eq 0 ]; then
    passed=$((passed + 1))
    echo "core-check: ok     $name ($(( $(date +%s) - t )) s)${expect:+; wrote ${expect[*]#$OUT/}}"
  else
    failed=$((failed + 1)); failures+=("$name")
    if [ $rc -ne 0 ]; then
      echo "core-check: FAILED $name: exit $rc ($(( $(date +%s) - t )) s): $*"
    else
      echo "core-check: FAILED $name: exit 0 but missing ${missing[*]#$OUT/}"
    fi
    tail -n 25 "$LOG/$name.txt" | sed 's/^/    | /'
  fi
}

if [ ! -f "$SAMPLE/sample_projects.gpkg" ]; then
  echo "core-check: FAILED: no sample layers in $SAMPLE (run make layers first)"
  echo "core-check: 0 passed, 1 failed"
  exit 1
fi

echo "core-check: fresh venv $VENV, pip install . (core dependencies only), outputs in $OUT"

# Install from a clean copy of what the wheel is built from, so no stale build/ or *.egg-info of
# the work tree can leak into the wheel, and the work tree is left untouched.
SRC="$OUT/src"
mkdir -p "$SRC"
extra_files=$(ls -d LICENSE* MANIFEST.in setup.cfg setup.py 2>/dev/null || true)
tar --exclude=__pycache__ --exclude='*.egg-info' -cf - pyproject.toml README.md zoning $extra_files | tar -xf - -C "$SRC"

run venv -- "$PYTHON" -m venv --clear "$VENV"
run pip-install-core -- "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$SRC"
# What got installed: zoning from site-packages (not this checkout), no extra, nothing broken.
run core-only -- bash -c "cd / && '$VENV/bin/python' - <<'EOF'
import importlib.util, sys
import zoning
assert '/site-packages/' in zoning.__file__, zoning.__file__
extras = [m for m in ('pytest', 'dask', 'dask_geopandas', 'distributed', 'exactextract', 'rasterstats',
                      'playwright', 'hypothesis', 'jsonschema') if importlib.util.find_spec(m)]
assert not extras, f'extras leaked into the core install: {extras}'
print('zoning from', zoning.__file__)
EOF
'$VENV/bin/python' -m pip check --disable-pip-version-check"

finish() {
  echo "core-check: total $(( $(date +%s) - T0 )) s"
  if [ $failed -eq 0 ] && [ "${CORE_KEEP:-0}" != 1 ]; then rm -rf "$OUT"; else echo "core-check: outputs and logs kept in $OUT"; fi
  [ $failed -eq 0 ] || echo "core-check: failed steps: ${failures[*]}"
  echo "core-check: $passed passed, $failed failed"
  [ $failed -eq 0 ]
  exit
}
[ $failed -eq 0 ] || finish  # no point running the CLI without an install

Z="$VENV/bin/zoning"
run screen-batch "$OUT/screen/summary.csv" "$OUT/screen/map.html" "$OUT/screen/results/*.json" \
    "$OUT/screen/reports/*.html" "$OUT/screen/reports/*.docx" -- \
  "$Z" screen "$SAMPLE/sample_projects.gpkg" --catalog "$CATALOG" --reports -o "$OUT/screen"
run screen-single "$OUT/single/result.json" "$OUT/single/report.html" "$OUT/single/report.docx" "$OUT/single/map.html" -- \
  "$Z" screen 118.17,26.64 -a industry=C1371 -a two_high=false -a chemical=false \
    -a boiler_th=8 -a boiler_fuel=coal --catalog "$CATALOG" -o "$OUT/single"
run carbon-stock "$OUT/carbon/stock.csv" "$OUT/carbon/stock.gpkg" -- \
  "$Z" carbon stock "$SAMPLE/sample_projects.gpkg" --catalog "$CATALOG" -o "$OUT/carbon"
run carbon-program "$OUT/program/program.xlsx" "$OUT/program/program.html" -- \
  "$Z" carbon program --catalog "$CATALOG" -o "$OUT/program"
run map "$OUT/map.html" -- \
  "$Z" map "$SAMPLE/sample_projects.gpkg" --catalog "$CATALOG" -o "$OUT/map.html"
run export "$OUT/export/*/*.zip" "$OUT/export/*/*.gpkg" -- \
  "$Z" export --county 延平区 --format shp,gpkg --results "$OUT/screen" --catalog "$CATALOG" -o "$OUT/export"

finish
