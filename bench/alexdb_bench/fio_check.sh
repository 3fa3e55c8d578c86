#!/bin/sh
# fio_check.sh: cross-checks alexdb-bench's raw engine against fio. Runs
# bench/jobs/fio-check.job (raw engine) and bench/jobs/fio-check.fio (fio) one after the
# other, the same pattern on each (4 KiB random O_DIRECT io_uring reads over a 1 GiB file,
# one in flight per thread, 1 then 16 threads), prints both IOPS figures of each job and
# raw/fio, and exits 1 if any pair differs by more than 10 % (2 on a setup error).
# Timing is asserted here, so it is not a ctest: run it by hand on a quiet machine.
#
#   bench/alexdb_bench/fio_check.sh [path/to/alexdb-bench] [directory] [runtime]
#   defaults: build/bin/alexdb-bench, /tmp/alexdb-fio-check, 3s per job and side
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
bench=${1:-$root/build/bin/alexdb-bench}
dir=${2:-/tmp/alexdb-fio-check}
runtime=${3:-3s}
command -v fio >/dev/null 2>&1 || { echo "fio_check: fio is not installed" >&2; exit 2; }
[ -x "$bench" ] || { echo "fio_check: no $bench (build first)" >&2; exit 2; }
mkdir -p "$dir"
out=$(mktemp -d)
trap 'rm -rf "$out"; rm -f "$dir/fio-check.data"' EXIT

echo "raw: $bench $root/bench/jobs/fio-check.job --directory=$dir --runtime=$runtime --no-progress --output-format=json"
"$bench" "$root/bench/jobs/fio-check.job" --directory="$dir" --runtime="$runtime" --no-progress \
    --output-format=json >"$out/raw.json"
echo "fio: FIO_CHECK_DIR=$dir FIO_CHECK_RUNTIME=$runtime fio $root/bench/jobs/fio-check.fio --output-format=json"
FIO_CHECK_DIR=$dir FIO_CHECK_RUNTIME=$runtime fio "$root/bench/jobs/fio-check.fio" \
    --output-format=json >"$out/fio.json"

python3 - "$out/raw.json" "$out/fio.json" <<'PY'
import json, sys
raw = {j["jobname"]: j["iops"] for j in json.load(open(sys.argv[1]))["jobs"]}
fio = {j["jobname"]: j["read"]["iops"] for j in json.load(open(sys.argv[2]))["jobs"]}
failed = False
print("%-20s %12s %12s %9s" % ("job", "raw IOPS", "fio IOPS", "raw/fio"))
for name in raw:
    if name not in fio:
        print("fio_check: fio has no job %s" % name); sys.exit(2)
    ratio = raw[name] / fio[name] if fio[name] > 0 else float("inf")
    bad = abs(ratio - 1) > 0.10
    failed |= bad
    print("%-20s %12.0f %12.0f %8.1f%%%s" % (name, raw[name], fio[name], ratio * 100,
                                             "  MORE THAN 10 % APART" if bad else ""))
sys.exit(1 if failed else 0)
PY
