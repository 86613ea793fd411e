#!/usr/bin/env bash
# Parse and scan benchmark of stickyaudit on generated data.
#
#   benches/run.sh                 # 1M and 10M lines per family, gzip and plain, 3 runs
#   benches/run.sh --quick         # 1M lines per family only
#   benches/run.sh --runs 5        # medians of 5 runs
#   benches/run.sh --large-runs 1  # one run of the 10M data sets (~10 min each)
#   benches/run.sh --generate-only # only make the data sets
#   benches/run.sh --sizes "2000000"
#
# Environment: BENCH_DIR (scratch data, default /tmp/stickyaudit-bench; the
# 10M data sets take about 25 GB), CARGO_TARGET_DIR (default
# ~/.cache/stickyaudit-target). Needs gzip and GNU time (/usr/bin/time;
# Debian: apt-get install -y time).
#
# What it does: builds the release binary, generates each data set once
# (`stickyaudit generate --seed 1 --layout single --hot-path`, scaled so that
# both the CloudFront and the ALB file reach the size; data sets are reused
# by later runs), then per data set and run, in this order so that load
# spikes hit every figure of a run alike:
#   - decompression alone: `gzip -dc FILE > /dev/null` and the same reader
#     stickyaudit uses (benches/gunzip.rs: flate2 MultiGzDecoder, zlib-rs)
#     for gzip data; `cat FILE > /dev/null` (a page-cache read) for plain;
#   - `stickyaudit parse FILE --quiet` per family (wall time, peak RSS),
#     CloudFront also with RAYON_NUM_THREADS=1 (lines/s per core);
#   - `stickyaudit parse CF ALB --quiet` and `stickyaudit scan CF ALB --quiet`.
# Figures are medians over the runs. The markdown report goes to stdout and
# to benches/results.md.
set -euo pipefail

args="$*"
runs=3
large_runs=""
generate_only=""
sizes="1000000 10000000"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --quick) sizes="1000000" ;;
    --runs) runs="$2"; shift ;;
    --sizes) sizes="$2"; shift ;;
    --large-runs) large_runs="$2"; shift ;;
    --generate-only) generate_only=1 ;;
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown option \`$1\` (see --help)" >&2; exit 2 ;;
    esac
    shift
done

repo="$(cd "$(dirname "$0")/.." && pwd)"
data="${BENCH_DIR:-/tmp/stickyaudit-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stickyaudit-target}"
bin="$CARGO_TARGET_DIR/release/stickyaudit"
timer=/usr/bin/time
command -v gzip >/dev/null || { echo "gzip is missing" >&2; exit 2; }
[[ -x $timer ]] || { echo "GNU time is missing (hint: apt-get install -y time)" >&2; exit 2; }

(cd "$repo" && cargo build --release --quiet)
bench_bin() { # name -> path of the benches/NAME.rs binary
    (cd "$repo" && cargo bench --no-run --bench "$1" 2>&1) |
        sed -nE 's/^ *Executable .*\((.*)\)$/\1/p'
}
gunzip_bin=$(bench_bin gunzip)
heap_bin=$(bench_bin heap)
mkdir -p "$data"
echo "free disk under $data: $(df -h --output=avail "$data" | tail -1 | tr -d ' ')" >&2

# With --hot-path the ALB gets about 0.74 lines per CloudFront request and
# --scale-lines N makes N*10/17 requests: 2.4 N gives each family >= N.
generate() { # size encoding -> data set directory
    local size=$1 enc=$2 dir="$data/$1-$2"
    if [[ ! -f $dir/meta ]]; then
        local flag=""
        [[ $enc == plain ]] && flag="--plain"
        "$bin" generate --out "$dir" --seed 1 --layout single $flag --hot-path \
            --scale-lines $((size * 24 / 10)) 2>"$dir.log" >&2 || { cat "$dir.log" >&2; exit 1; }
        local cf alb
        read -r cf alb < <(sed -nE 's/^generated ([0-9]+) CloudFront and ([0-9]+) ALB.*/\1 \2/p' "$dir.log")
        local cfz="" ; [[ $enc == gzip ]] && cfz=.gz
        local cf_text alb_text
        if [[ $enc == gzip ]]; then
            cf_text=$(gzip -dc "$dir/cloudfront.log.gz" | wc -c)
            alb_text=$(gzip -dc "$dir/alb.log.gz" | wc -c)
        else
            cf_text=$(stat -c %s "$dir/cloudfront.log")
            alb_text=$(stat -c %s "$dir/alb.log")
        fi
        echo "$cf $alb $cf_text $alb_text" >"$dir/meta"
    fi
    echo "$dir"
}

# Runs a command under GNU time; prints "seconds peak_rss_kb".
measure() {
    local out
    out=$(mktemp)
    if "$timer" -f '%e %M' -o "$out" "$@" >/dev/null; then
        tail -1 "$out"
    else
        echo "failed: $* ($(head -1 "$out"))" >&2
        echo "-1 -1" # shows as negative figures in the table
    fi
    rm -f "$out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Medians of column $2 (1 = seconds, 2 = KB) of the samples in file $1.
med() { awk -v c="$2" '{ print $c }' "$1" | median; }

report=$(mktemp)
loads=$(mktemp)
exec 3>"$report"

bench_set() { # size encoding
    local size=$1 enc=$2 dir
    dir=$(generate "$size" "$enc")
    local cf_lines alb_lines cf_text alb_text
    read -r cf_lines alb_lines cf_text alb_text <"$dir/meta"
    local ext="" unpack=(cat)
    [[ $enc == gzip ]] && ext=.gz && unpack=(gzip -dc)
    local cf="$dir/cloudfront.log$ext" alb="$dir/alb.log$ext"
    [[ -n $generate_only ]] && return
    local n=$runs
    ((size >= 10000000)) && n=${large_runs:-$runs}
    local s="$dir/samples"
    rm -rf "$s"
    mkdir -p "$s"
    for ((r = 1; r <= n; r++)); do
        echo "$size $enc run $r: load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$loads" >&2
        measure "${unpack[@]}" "$cf" >>"$s/unpack_cf"
        measure "${unpack[@]}" "$alb" >>"$s/unpack_alb"
        if [[ $enc == gzip ]]; then
            measure "$gunzip_bin" "$cf" >>"$s/flate2_cf"
            measure "$gunzip_bin" "$alb" >>"$s/flate2_alb"
        fi
        measure "$bin" parse "$cf" --quiet >>"$s/parse_cf"
        RAYON_NUM_THREADS=1 measure "$bin" parse "$cf" --quiet >>"$s/parse_cf_1t"
        measure "$bin" parse "$alb" --quiet >>"$s/parse_alb"
        measure "$bin" parse "$cf" "$alb" --quiet >>"$s/parse_both"
        measure "$bin" scan "$cf" "$alb" --quiet >>"$s/scan_both"
    done
    local label="$((size / 1000))K $enc, $n runs"
    ((size % 1000000 == 0)) && label="$((size / 1000000))M $enc, $n runs"
    family_row() { # family lines text_bytes file sample-prefix
        local fam=$1 lines=$2 text=$3 file=$4 key=$5
        local un pa kb fl=0
        un=$(med "$s/unpack_$key" 1)
        [[ -f $s/flate2_$key ]] && fl=$(med "$s/flate2_$key" 1)
        pa=$(med "$s/parse_$key" 1)
        kb=$(med "$s/parse_$key" 2)
        awk -v l="$label" -v f="$fam" -v n="$lines" -v t="$text" -v z="$(stat -c %s "$file")" \
            -v u="$un" -v p="$pa" -v k="$kb" -v g="$fl" 'BEGIN {
            fl = g > 0 ? sprintf("%.2f | %.2f", g, p / g) : "- | -"
            printf "| %s | %s | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %s | %.2fM | %.0f | %.0f | %.0f |\n",
                l, f, n, t / 1e6, z / 1e6, u, p, p / u, fl, n / p / 1e6, t / p / 1e6, k / 1024, k * 1024 / n }' >&3
    }
    family_row cloudfront "$cf_lines" "$cf_text" "$cf" cf
    family_row alb "$alb_lines" "$alb_text" "$alb" alb
    awk -v l="$label" -v n="$cf_lines" -v p="$(med "$s/parse_cf_1t" 1)" \
        -v m="$(med "$s/parse_cf" 1)" 'BEGIN {
        printf "ONE| %s | %d | %.2f | %.2fM | %.2f | %.2fM |\n", l, n, p, n / p / 1e6, m, n / m / 1e6 }' >&3
    awk -v l="$label" -v n="$((cf_lines + alb_lines))" -v p="$(med "$s/parse_both" 1)" \
        -v q="$(med "$s/scan_both" 1)" -v pk="$(med "$s/parse_both" 2)" \
        -v sk="$(med "$s/scan_both" 2)" 'BEGIN {
        printf "SCAN| %s | %d | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.0f |\n",
            l, n, p, q, q / p, pk / 1024, sk / 1024, pk * 1024 / n, sk * 1024 / n }' >&3
}

for size in $sizes; do
    for enc in gzip plain; do
        bench_set "$size" "$enc"
    done
    heap_set="$data/$size-plain"
done
exec 3>&-
[[ -n $generate_only ]] && exit 0

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "# stickyaudit benchmark"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet -- src || echo ' (+ uncommitted changes)')"
    echo "- machine: $(nproc) cores, $cpu, $(free -g | awk '/^Mem:/ { print $2 }') GB RAM"
    echo "- command: \`benches/run.sh${args:+ $args}\` (medians of the runs given per row)"
    echo "- data: \`stickyaudit generate --seed 1 --layout single --hot-path --scale-lines 2.4N\` [--plain]"
    echo "- decompression alone: \`gzip -dc FILE > /dev/null\` (gzip data; \`cat FILE > /dev/null\` for plain)"
    echo "  and flate2 s = benches/gunzip.rs, the MultiGzDecoder (zlib-rs) reader stickyaudit itself uses"
    echo "- load average (1/5/15 min) before each run:"
    sed 's/^/  - /' "$loads"
    echo
    echo "## Parse, per family (\`stickyaudit parse FILE --quiet\`)"
    echo
    echo "| data | family | lines | text MB | file MB | gzip -dc / cat s | parse s | parse/(gzip -dc) | flate2 s | parse/flate2 | lines/s | text MB/s | peak RSS MB | RSS B/line |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    grep '^| ' "$report"
    echo
    echo "## CloudFront parse per core (\`RAYON_NUM_THREADS=1\`)"
    echo
    echo "| data | lines | 1 thread s | lines/s per core | all threads s | lines/s |"
    echo "|---|---:|---:|---:|---:|---:|"
    sed -n 's/^ONE//p' "$report"
    echo
    echo "## Scan against parse (\`stickyaudit parse|scan CF ALB --quiet\`)"
    echo
    echo "| data | CF+ALB lines | parse s | scan s | scan/parse | parse RSS MB | scan RSS MB | parse B/line | scan B/line |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    sed -n 's/^SCAN//p' "$report"
    echo
    echo "## Heap of the parsed tables, largest columns (benches/heap.rs on $(basename "$heap_set"))"
    echo
    "$heap_bin" "$heap_set/cloudfront.log" "$heap_set/alb.log" 2>/dev/null
    echo
    echo "Targets: CloudFront parse >= 4M lines/s per core; gzip parse/decompress <= 1.3;"
    echo "peak RSS <= 200 B per parsed line; scan/parse <= 1.5."
} | tee "$repo/benches/results.md"
rm -f "$report" "$loads"
