#!/bin/sh
# Runs fuzz targets one after another for SECONDS each (default 600) and appends one summary
# line per run to runs/summary.tsv (start, target, seconds, executions, cov, exit code, new
# crash files); full libFuzzer output goes to runs/<target>.log. One process, one worker
# (-jobs=1 -workers=1).
# Usage: ./run-all.sh [SECONDS] [TARGET...]   (binaries must be built: see README)
set -eu
cd "$(dirname "$0")"
secs=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-"scanner_codec scale_mtsics scale_toledo_continuous scale_toledo8213 scale_sma printer_status label_build barcode_parse import_csv import_json scan_lines central_sync returns_flow import_sheets"}
# BIN: where the built targets are (a copy lets a run go on while they are rebuilt).
bin=${BIN:-target/x86_64-unknown-linux-gnu/release}
mkdir -p runs
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="runs/$t.log"
    before=$(ls "artifacts/$t" | wc -l)
    start=$(date -u +%FT%TZ)
    set +e
    # -jobs=1 -workers=1: one fuzzing process on the shared machine; libFuzzer then writes
    # the run's output to fuzz-0.log, which goes into the run's log.
    rm -f fuzz-0.log
    "$bin/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -jobs=1 -workers=1 \
        "corpus/$t" "seeds/$t" >"$log" 2>&1
    rc=$?
    if [ -f fuzz-0.log ]; then
        cat fuzz-0.log >>"$log"
        rm -f fuzz-0.log
    fi
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    crashes=$(( $(ls "artifacts/$t" | wc -l) - before ))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$start" "$t" "$secs" "${execs:-?}" "${cov:-?}" "$rc" "$crashes" >>runs/summary.tsv
done
