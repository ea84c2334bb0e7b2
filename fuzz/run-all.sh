#!/bin/sh
# Runs fuzz targets one after another for SECONDS each (default 600) and appends one summary
# line per run to runs/summary.tsv (start, target, seconds, executions, cov, exit code, new
# crash files); full libFuzzer output goes to runs/<target>.log.
# Usage: ./run-all.sh [SECONDS] [TARGET...]   (binaries must be built: see README)
set -eu
cd "$(dirname "$0")"
secs=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-"scanner_codec scale_mtsics scale_toledo_continuous scale_toledo8213 scale_sma printer_status label_build barcode_parse import_csv import_json"}
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p runs
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="runs/$t.log"
    before=$(ls "artifacts/$t" | wc -l)
    start=$(date -u +%FT%TZ)
    set +e
    "$bin/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "corpus/$t" "seeds/$t" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    crashes=$(( $(ls "artifacts/$t" | wc -l) - before ))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$start" "$t" "$secs" "${execs:-?}" "${cov:-?}" "$rc" "$crashes" >>runs/summary.tsv
done
