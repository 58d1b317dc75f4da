#!/usr/bin/env bash
# sfda against plain PyTorch eager on the demo-scale SFDA iteration, side by
# side in one run: each round runs, alternately, `sfda bench` (tch, candle)
# and scripts/pytorch/sfda_iteration.py, with default threads and with one
# thread, PyTorch also with the glibc malloc settings the sfda binary gives
# itself (src/malloc_tuning.rs), and prints each setting's median seconds per
# iteration and the ratios sfda / PyTorch.
#
# Usage: scripts/pytorch/compare.sh [ROUNDS]          (default 3 rounds)
# Environment:
#   SFDA     the sfda binary (default: target/release/sfda)
#   PYTHON   a python with torch (default: .deps/pytorch-venv/bin/python if
#            present, else scripts/pytorch/deps-python.sh: the libtorch of
#            .deps/torch-2.11.0 that the tch backend links, else python3)
#   ITERS, WARMUP   timed / warm-up iterations per run (default 5 / 1, as
#            `sfda bench`)
#   CONFIGS  which settings to run (default: the eight CPU settings, see below;
#            "tch-cuda-paper pytorch-cuda-paper" is the paper-scale iteration,
#            DeepLabV3-ResNet50 at 512x256, on cuda:0, which scripts/gpu-check.sh runs)
#   OUT      folder for the raw output (default: a new folder under /tmp)
#
# Compared time = generator + student + discriminator steps per iteration
# ("compute"): `sfda bench`'s `iter s` also counts `data` (rendering the
# synthetic target batch), which the PyTorch script replaces by torch.rand.
# Every run is a fresh process; the machine should be otherwise idle
# (the load average is printed before and after).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds="${1:-3}"
iters="${ITERS:-5}"
warmup="${WARMUP:-1}"
sfda="${SFDA:-$root/target/release/sfda}"
out="${OUT:-$(mktemp -d /tmp/sfda-pytorch-compare.XXXXXX)}"
mkdir -p "$out/raw"

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$root/.deps/pytorch-venv/bin/python" ]; then
    PYTHON="$root/.deps/pytorch-venv/bin/python"
  elif [ -d "${TORCH_DEPS:-$root/.deps/torch-2.11.0}/torch/lib" ]; then
    PYTHON="$here/deps-python.sh"
  else
    PYTHON=python3
  fi
fi
if [ ! -x "$sfda" ]; then
  echo "error: $sfda not found; build it (cargo build --release) or set SFDA" >&2
  exit 1
fi
if ! "$PYTHON" -W ignore -c "import torch" 2>/dev/null; then
  echo "error: '$PYTHON' cannot import torch; set PYTHON to a python with PyTorch" >&2
  exit 1
fi

# The sfda binary's malloc settings (src/malloc_tuning.rs: mallopt
# M_MMAP_THRESHOLD = 32 MiB, M_TRIM_THRESHOLD = INT_MAX), as glibc tunables.
# (Only the PyTorch runs get this variable: sfda skips its own mallopt calls
# when GLIBC_TUNABLES is set.)
malloc_tunables="glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=2147483647"

# name | how to run it. The order alternates sfda and PyTorch; even rounds run
# the list backwards, so no setting always runs first or last.
all_configs="tch pytorch pytorch+malloc candle tch-1t pytorch-1t pytorch+malloc-1t candle-1t"
configs="${CONFIGS:-$all_configs}"

run_config() {  # name round -> appends one JSON line to results.jsonl
  local name=$1 round=$2 raw="$out/raw/$1.round$2"
  local py=("$PYTHON" -W ignore "$here/sfda_iteration.py" --iters "$iters" --warmup "$warmup")
  local paper=(--preset "$root/sfda-core/presets/gta5-cityscapes-deeplabv3.toml"
               --arch deeplabv3-resnet50 --size 512x256)
  if ! case "$name" in
    tch)               "$sfda" bench --backend tch --iters "$iters" --warmup "$warmup" --json ;;
    candle)            "$sfda" bench --backend candle --iters "$iters" --warmup "$warmup" --json ;;
    tch-1t)            SFDA_THREADS=1 "$sfda" bench --backend tch --iters "$iters" --warmup "$warmup" --json ;;
    candle-1t)         SFDA_THREADS=1 "$sfda" bench --backend candle --iters "$iters" --warmup "$warmup" --json ;;
    pytorch)           "${py[@]}" ;;
    pytorch-1t)        "${py[@]}" --threads 1 ;;
    pytorch+malloc)    GLIBC_TUNABLES="$malloc_tunables" "${py[@]}" --label pytorch+m ;;
    pytorch+malloc-1t) GLIBC_TUNABLES="$malloc_tunables" "${py[@]}" --threads 1 --label pytorch+m ;;
    tch-cuda-paper)    "$sfda" bench "${paper[@]}" --backend tch --device cuda:0 --iters "$iters" --warmup "$warmup" --json ;;
    pytorch-cuda-paper) "${py[@]}" "${paper[@]}" --device cuda:0 ;;
    *) echo "unknown config $name" >&2; return 1 ;;
  esac >"$raw.out" 2>"$raw.err"; then
    cat "$raw.err" >&2
    echo "error: round $round, $name failed (output in $raw.out / .err)" >&2
    return 1
  fi
  python3 - "$name" "$round" "$raw.out" >>"$out/results.jsonl" <<'EOF'
import json, sys
name, rnd, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
text = open(path).read()
if name.startswith("pytorch"):
    r = json.loads([l for l in text.splitlines() if l.startswith("json: ")][-1][6:])
else:
    r = json.loads(text)[0]
parts = dict(r["parts"])
print(json.dumps({"config": name, "round": rnd, "compute": parts["g"] + parts["s"] + parts["d"],
                  "g": parts["g"], "s": parts["s"], "d": parts["d"], "data": parts["data"],
                  "threads": r.get("cpu_threads"), "peak_rss_mib": r.get("peak_rss_mib")}))
print(f"round {rnd} {name:<18} compute {parts['g'] + parts['s'] + parts['d']:.3f} s/iter "
      f"(gen {parts['g']:.3f}, student {parts['s']:.3f}, disc {parts['d']:.3f}; "
      f"{r.get('cpu_threads')} threads)", file=sys.stderr)
EOF
}

echo "sfda: $sfda"
echo "python: $PYTHON ($("$PYTHON" -W ignore -c 'import torch; print("torch", torch.__version__, "default threads", torch.get_num_threads())'))"
echo "$rounds rounds x {$configs}, $warmup warm-up + $iters timed iterations each; raw output in $out"
echo "PyTorch's malloc setting: GLIBC_TUNABLES=$malloc_tunables ($(GLIBC_TUNABLES=$malloc_tunables \
  /lib64/ld-linux-x86-64.so.2 --list-tunables 2>/dev/null | grep -E 'malloc\.(mmap|trim)_threshold' \
  | tr '\n' ' ' || true))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" -W ignore "$here/sfda_iteration.py" --check >"$out/raw/param-check.txt" 2>&1 || {
  cat "$out/raw/param-check.txt" >&2; echo "error: the parameter-count check failed" >&2; exit 1; }
grep '^parameters' "$out/raw/param-check.txt"
start=$(date +%s)
for ((r = 1; r <= rounds; r++)); do
  list=$configs
  if ((r % 2 == 0)); then list=$(echo "$configs" | tr ' ' '\n' | tac | tr '\n' ' '); fi
  for c in $list; do run_config "$c" "$r"; done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); $(( $(date +%s) - start )) s"

python3 - "$out/results.jsonl" <<'EOF' | tee "$out/summary.txt"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r["config"], []).append(r)
med = lambda xs: statistics.median(xs)
print()
print("seconds per iteration (compute = gen + student + disc), median over rounds [each round]")
print(f"{'setting':<19} {'threads':>7} {'compute':>8} {'gen':>7} {'student':>8} {'disc':>7}  rounds")
for c, rs in by.items():
    t = sorted({r["threads"] for r in rs}, key=str)
    print(f"{c:<19} {','.join(map(str, t)):>7} {med([r['compute'] for r in rs]):>8.3f} "
          f"{med([r['g'] for r in rs]):>7.3f} {med([r['s'] for r in rs]):>8.3f} "
          f"{med([r['d'] for r in rs]):>7.3f}  " + " ".join(f"{r['compute']:.3f}" for r in rs))
pairs = [("tch", "pytorch"), ("tch", "pytorch+malloc"), ("candle", "pytorch"),
         ("tch-1t", "pytorch-1t"), ("tch-1t", "pytorch+malloc-1t"), ("candle-1t", "pytorch-1t"),
         ("pytorch+malloc", "pytorch"), ("pytorch+malloc-1t", "pytorch-1t"),
         ("tch-cuda-paper", "pytorch-cuda-paper")]
print()
print("ratio = A / B of compute per iteration (A sfda, B PyTorch eager: < 1 means sfda is faster;")
print("the last two rows: PyTorch with sfda's malloc settings / without)")
print(f"{'ratio':<34} {'of medians':>10} {'median of rounds':>16}  per round")
for a, b in pairs:
    if a not in by or b not in by:
        continue
    ra = {r["round"]: r["compute"] for r in by[a]}
    rb = {r["round"]: r["compute"] for r in by[b]}
    per = [ra[k] / rb[k] for k in sorted(ra) if k in rb]
    om = med(list(ra.values())) / med(list(rb.values()))
    print(f"{a + ' / ' + b:<34} {om:>9.3f}x {med(per):>15.3f}x  " + " ".join(f"{x:.3f}" for x in per))
EOF
