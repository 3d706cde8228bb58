#!/usr/bin/env bash
# make fuzz: runs each cargo-fuzz target of fuzz/ for a set time and writes the executions run and the crashes
# found (the goal is 0) into the section of BENCHMARKS.md between `<!-- make fuzz: begin -->` and
# `<!-- make fuzz: end -->` (replaced if there, appended if not; the rest of the file is left as it is).
#
#   FUZZ_SECONDS=60        seconds per target (default 60)
#   FUZZ_TARGETS="xml"     which targets (default: all of fuzz/fuzz_targets, in a fixed order)
#   FUZZ_SANITIZER=none    cargo-fuzz's --sanitizer (default address)
#   FUZZ_TIMEOUT=120       seconds one input may take before it counts as a hang (default 120: a busy machine
#                          and AddressSanitizer make the first phone number of a run take seconds, while
#                          phonenumber compiles its patterns)
#
# cargo-fuzz is installed into .tools/cargo (git-ignored) the first time. It needs nightly compiler flags
# (-Zsanitizer); RUSTC_BOOTSTRAP=1 lets the stable toolchain take them. The build goes to target/fuzz, the
# corpus is kept between runs in .tools/fuzz-corpus/<target> (the seeds in fuzz/seeds/<target> are read, never
# written), crashing inputs land in fuzz/artifacts/<target>/ (git-ignored), each run's log in .tools/fuzz-logs/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT_DIR"

CARGO_FUZZ_VERSION=0.13.2
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_SANITIZER:=address}"
: "${FUZZ_TARGETS:=params email phone xml signatures}"
: "${FUZZ_TIMEOUT:=120}"
FUZZ_TARGET_DIR="$ROOT_DIR/target/fuzz"
CORPUS_DIR="$TOOLS_DIR/fuzz-corpus"
LOG_DIR="$TOOLS_DIR/fuzz-logs"
ARTIFACT_DIR="$ROOT_DIR/fuzz/artifacts"
BENCHMARKS="$ROOT_DIR/BENCHMARKS.md"

for var in FUZZ_SECONDS FUZZ_TIMEOUT; do
  case "${!var}" in ''|*[!0-9]*) echo "fuzz.sh: $var must be a whole number of seconds" >&2; exit 1 ;; esac
done
command -v cargo >/dev/null || { echo "fuzz.sh: cargo is required (the Rust toolchain)" >&2; exit 1; }
command -v c++ >/dev/null || { echo "fuzz.sh: a C++ compiler (c++) is required: libfuzzer-sys builds libFuzzer" >&2; exit 1; }
command -v python3 >/dev/null || { echo "fuzz.sh: python3 is required (it writes the section of BENCHMARKS.md)" >&2; exit 1; }

# cargo-fuzz, once.
export PATH="$TOOLS_DIR/cargo/bin:$PATH"
if [ "$(cargo-fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS_DIR/cargo"
  cargo install --quiet --locked --root "$TOOLS_DIR/cargo" cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

export RUSTC_BOOTSTRAP=1
fuzz_args=(--fuzz-dir fuzz --target-dir "$FUZZ_TARGET_DIR" --sanitizer "$FUZZ_SANITIZER")
echo "==> building the fuzz targets (cargo fuzz build ${fuzz_args[*]})"
cargo fuzz build "${fuzz_args[@]}"

mkdir -p "$LOG_DIR"
results="$LOG_DIR/results.tsv"
: >"$results"
for target in $FUZZ_TARGETS; do
  [ -f "fuzz/fuzz_targets/$target.rs" ] || { echo "fuzz.sh: no fuzz target '$target' in fuzz/fuzz_targets" >&2; exit 1; }
  corpus="$CORPUS_DIR/$target"
  log="$LOG_DIR/$target.log"
  mkdir -p "$corpus" "$ARTIFACT_DIR/$target"
  marker="$LOG_DIR/.$target.start"
  touch "$marker"
  echo "==> fuzzing $target for $FUZZ_SECONDS s (log: ${log#"$ROOT_DIR"/})"
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  start=$(date +%s.%N)
  status=0
  cargo fuzz run "${fuzz_args[@]}" "$target" "$corpus" "fuzz/seeds/$target" -- \
    -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout="$FUZZ_TIMEOUT" >"$log" 2>&1 || status=$?
  end=$(date +%s.%N)
  # What this run left in the artifacts: crashes, and inputs that ran out of time or memory.
  crashes=$(find "$ARTIFACT_DIR/$target" -type f -newer "$marker" \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | sort)
  rm -f "$marker"
  if [ "$status" != 0 ] && [ -z "$crashes" ]; then
    echo "fuzz.sh: $target stopped with status $status and left no crashing input; see $log" >&2
    tail -20 "$log" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
  corpus_files=$(find "$corpus" -type f | wc -l)
  corpus_bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  n_crashes=$(printf '%s' "$crashes" | grep -c . || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$start" "$end" "${execs:-0}" "$n_crashes" "$corpus_files" \
    "$corpus_bytes" "$load_before" >>"$results"
  for c in $crashes; do printf 'crash\t%s\t%s\n' "$target" "${c#"$ROOT_DIR"/}" >>"$results"; done
  echo "    $target: ${execs:-0} executions, $n_crashes crash(es), corpus $corpus_files files"
done

# The section of BENCHMARKS.md, written next to it and moved over it (never edited in place).
export FUZZ_DATE FUZZ_COMMIT FUZZ_CPU FUZZ_MEM FUZZ_OS FUZZ_TOOLCHAIN FUZZ_SECONDS FUZZ_SANITIZER FUZZ_TIMEOUT
FUZZ_DATE="$(date -u '+%Y-%m-%d %H:%M') UTC"
FUZZ_COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
FUZZ_CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) ($(nproc) cores)"
FUZZ_MEM="$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
FUZZ_OS="$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s) ($(uname -sr) $(uname -m))"
FUZZ_TOOLCHAIN="$(rustc --version); $(cargo-fuzz --version); RUSTC_BOOTSTRAP=1, sanitizer $FUZZ_SANITIZER"
python3 - "$BENCHMARKS" "$results" <<'PY'
import os, sys, tempfile

path, results = sys.argv[1], sys.argv[2]
env = os.environ
BEGIN, END = "<!-- make fuzz: begin -->", "<!-- make fuzz: end -->"
what = {
    "params": "`Params::parse` (query string, form or JSON body) and every typed reader",
    "email": "`EmailAddress::parse`",
    "phone": "`PhoneNumber::parse`, `Contact::parse`",
    "xml": "`render::success` / `render::error` as XML, read back with quick-xml",
    "signatures": "ACS3 / TC3 `Authorization::parse`, `encode`, `canonical_pairs`, the RPC string to sign, the HMAC check",
}
rows, crashes = [], []
for line in open(results, encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    if f[0] == "crash":
        crashes.append((f[1], f[2]))
        continue
    target, start, end, execs, n_crash, files, size, load = f
    rows.append((target, float(end) - float(start), int(execs), int(n_crash), int(files), int(size), load))

def n(x):
    return f"{x:,}"

secs_arg = env["FUZZ_SECONDS"]
timeout = env["FUZZ_TIMEOUT"]
san = env["FUZZ_SANITIZER"]
out = [BEGIN, "## Fuzzing", ""]
out.append("Written by `make fuzz` (`local/fuzz.sh`): each cargo-fuzz target of `fuzz/` ran for a set time on the "
           f"machine below. The goal is 0 crashes (a panic, a broken round trip, an input that takes over {timeout} s or "
           "runs out of memory). The machine is shared with other builds: the load average before each target is "
           "given, and the executions depend on it.")
out += ["", "| | |", "|---|---|"]
out.append(f"| Date | {env['FUZZ_DATE']} |")
out.append(f"| Commit | {env['FUZZ_COMMIT']} |")
out.append(f"| CPU | {env['FUZZ_CPU']} |")
out.append(f"| Memory | {env['FUZZ_MEM']} |")
out.append(f"| OS | {env['FUZZ_OS']} |")
out.append(f"| Toolchain | {env['FUZZ_TOOLCHAIN']} |")
out += ["", "Commands (from the repository root):", "", "```sh",
        f"make fuzz   # = bash local/fuzz.sh, with FUZZ_SECONDS={secs_arg} per target",
        f"RUSTC_BOOTSTRAP=1 cargo fuzz build --fuzz-dir fuzz --target-dir target/fuzz --sanitizer {san}",
        f"RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --target-dir target/fuzz --sanitizer {san} <target> \\",
        f"  .tools/fuzz-corpus/<target> fuzz/seeds/<target> -- -max_total_time={secs_arg} -print_final_stats=1 -timeout={timeout}",
        "```", ""]
out.append("| Target | What it fuzzes | Seconds | Executions | Exec/s | Crashes | Corpus (files, bytes) | Load average |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|")
for target, secs, execs, n_crash, files, size, load in rows:
    rate = n(round(execs / secs)) if secs > 0 else "0"
    out.append(f"| `{target}` | {what.get(target, '')} | {secs:.0f} | {n(execs)} | {rate} | {n_crash} | {n(files)}, {n(size)} | {load} |")
total_secs = sum(r[1] for r in rows)
total_execs = sum(r[2] for r in rows)
total_crashes = sum(r[3] for r in rows)
out.append(f"| **all** | | {total_secs:.0f} | {n(total_execs)} | | **{total_crashes}** | | |")
out += ["", "Seconds are wall-clock time, start-up included. The corpus is kept between runs (`.tools/fuzz-corpus`), so "
        "it grows with every run. A target stops at its first crash.", ""]
if crashes:
    out.append("Crashing inputs (replay one with `RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz <target> <file>`):")
    out.append("")
    out += [f"- `{t}`: `{p}`" for t, p in crashes]
else:
    out.append("Crashes: none.")
out.append(END)
section = "\n".join(out) + "\n"

text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
lines = text.splitlines(keepends=True)
begin = next((i for i, l in enumerate(lines) if l.strip() == BEGIN), None)
end = None if begin is None else next((i for i in range(begin + 1, len(lines)) if lines[i].strip() == END), None)
if begin is not None and end is not None:
    new = "".join(lines[:begin]) + section + "".join(lines[end + 1:])
else:
    sep = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
    new = text + sep + section
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".BENCHMARKS.md.")
with os.fdopen(fd, "w", encoding="utf-8") as f:
    f.write(new)
os.chmod(tmp, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644)
os.replace(tmp, path)
print(f"==> wrote the fuzzing section of {os.path.basename(path)}: {total_execs:,} executions, {total_crashes} crash(es)")
PY

total_crashes=$(awk -F'\t' '$1 != "crash" {s += $5} END {print s + 0}' "$results")
if [ "$total_crashes" != 0 ]; then
  echo "fuzz.sh: $total_crashes crash(es) found; the inputs are listed in BENCHMARKS.md and under fuzz/artifacts/" >&2
  exit 1
fi
