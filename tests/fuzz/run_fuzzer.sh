#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time (ctest's fuzz.* tests; docs/fuzzing.md).
#   run_fuzzer.sh <target binary> <seed corpus dir> <work dir> <seconds> [libFuzzer flags...]
# The seeds are copied into <work dir>/corpus, which the fuzzer grows; the repository's corpus is
# never written to. A crash, leak, timeout or undefined behaviour leaves its input in
# <work dir>/artifacts and fails (libFuzzer's non-zero exit status).
set -euo pipefail
binary=$1 seeds=$2 work=$3 seconds=$4
shift 4

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"

# UBSan stops at the first finding (the build has -fno-sanitize-recover=all) with a stack trace.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
# -timeout: one input taking this long is a hang. -rss_limit_mb: ASan's shadow memory plus the
# server's pool; far above what a run needs, below what would take the machine down.
"$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$@" "$work/corpus"
