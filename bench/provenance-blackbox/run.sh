#!/usr/bin/env bash
# Issue 19's black-box validation: does `distill provenance --parent --reference` (the agreement test of Model Provenance
# Testing, arXiv 2502.00706) tell which of two same-domain teachers a student was distilled from?
# tinyshakespeare.txt is cut at its middle line into two contiguous halves, A (the first plays) and B (the rest): the same
# domain, the same format (speaker line, verse), different plays and characters. The last HELD share of each half's lines
# is held out. Teacher A trains on half A's other lines, teacher B on half B's, from scratch, with the same architecture
# (teacher.json, tokenizer tok512), seed and budget. Training rows are chunks of LINES lines: the first line is the
# prompt, the rest the answer, run together by the plain template. Each teacher answers the same generation prompts (GEN
# from each half's held-out lines, so the prompts do not give the parent away) at temperature 1, with its top-k
# logprobs; students of the demo's architecture (demo/student.json, smaller) train on each teacher's data in each of
# MODES (whitebox against the teacher itself), for each of SEEDS. Negative controls: students of the same size trained
# with SFT on half A's raw training rows (CONTROL_SEEDS), which share teacher A's data but not teacher A. Each student is
# tested right after training with `distill provenance --json`, parent A against reference B and the mirror, on PROBES
# probe prompts (half from each half's held-out lines, disjoint from the generation prompts, interleaved A, B, A, B, ...)
# for PROBE_TOKENS greedy tokens, and again on the first 25, 50 and 100 probes for its true parent (controls: A).
# Sibling references: two more teachers, A2 and B2, train on the same halves with the same recipe but seed SIBLING_SEED.
# Each student is tested a second time ("family" test) with three references: the other teacher, the parent's sibling
# and the other's sibling. A sibling has seen the parent's data but is not the parent, so a student that merely writes
# text like the parent's half (or as generic as the parent's) agrees with the sibling as much as with the parent. Every
# query goes through one ledger, so each model answers each probe once. An inline Python step writes the tables
# (WORK_DIR/report.md) and the plot's data; bench/Provenance draws bench/results/provenance-blackbox.png. Every compute
# step runs at nice NICE, one at a time. Results: bench/results/provenance.md.
#   usage: bench/provenance-blackbox/run.sh [WORK_DIR]     (default: a temporary folder)
#   settings (environment): SEEDS="1 2 3" MODES="sft whitebox" CONTROL_SEEDS="1 2 3" TEACHER_STEPS=200 STUDENT_STEPS=200
#     GEN=150 SAMPLES=1 MAX_TOKENS=64 TOP_LOGPROBS=10 PROBES=200 PROBE_TOKENS=48 HELD=10 LINES=10 NICE=10 SIBLING_SEED=2
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${DISTILLERY_SHARED_DATA:-$(cd "$repo/../shared/data" && pwd)}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
SEEDS=${SEEDS:-"1 2 3"}
MODES=${MODES:-"sft whitebox"}
CONTROL_SEEDS=${CONTROL_SEEDS:-"1 2 3"}
TEACHER_STEPS=${TEACHER_STEPS:-200}
STUDENT_STEPS=${STUDENT_STEPS:-200}
GEN=${GEN:-150}
SAMPLES=${SAMPLES:-1}
MAX_TOKENS=${MAX_TOKENS:-64}
TOP_LOGPROBS=${TOP_LOGPROBS:-10}
PROBES=${PROBES:-200}
PROBE_TOKENS=${PROBE_TOKENS:-48}
HELD=${HELD:-10}
LINES=${LINES:-10}
NICE=${NICE:-10}
SIBLING_SEED=${SIBLING_SEED:-2}
results="$repo/bench/results"
tok="$shared/stories260K/tok512.bin"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export TORCH_SHOW_CPP_STACKTRACES=1 # a libtorch error then carries its native stack into distill's crash report
[[ -f $repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll ]] || nice -n "$NICE" dotnet build -c Release -v quiet -nologo "$repo/src/Distillery.Cli" >/dev/null
# Every compute step runs niced and one at a time: the bench shares its machine.
distill() { nice -n "$NICE" dotnet "$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll" "$@"; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# The split, the training rows, the generation prompts and the probes (all seeded).
python3 - "$shared/text/tinyshakespeare.txt" "$work" "$GEN" "$PROBES" "$HELD" "$LINES" <<'PY'
import json, os, random, sys
text, work, gen, probes, held, width = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
lines = open(text, encoding="utf-8").read().split("\n")
middle = len(lines) // 2
while lines[middle].strip(): middle += 1          # cut at a blank line, between speeches
halves = {"A": lines[:middle], "B": lines[middle + 1:]}
rng = random.Random(19)
probe_rows = {}
for name, half in halves.items():
    cut = len(half) * (100 - held) // 100
    while half[cut].strip(): cut += 1
    train, heldout = half[:cut], half[cut + 1:]
    # Training rows: windows of `width` lines, stride width/2; the first line is the prompt, the rest the answer.
    rows = []
    for i in range(0, len(train) - width, width // 2):
        window = train[i:i + width]
        if not window[0].strip() or not any(l.strip() for l in window[1:]): continue
        rows.append({"messages": [{"role": "user", "content": window[0] + "\n"},
                                  {"role": "assistant", "content": "\n".join(window[1:]) + "\n"}]})
    os.makedirs(f"{work}/data/raw-{name}", exist_ok=True)
    with open(f"{work}/data/raw-{name}/data.jsonl", "w", encoding="utf-8") as f:
        for r in rows: f.write(json.dumps(r) + "\n")
    # Held-out text for the teachers' loss, as text rows of the same width.
    with open(f"{work}/heldout-{name}.jsonl", "w", encoding="utf-8") as f:
        for i in range(0, len(heldout) - width, width):
            f.write(json.dumps({"text": "\n".join(heldout[i:i + width]) + "\n"}) + "\n")
    # Prompts: a speaker line and the first line of the speech, from the held-out text; generation and probe prompts
    # from disjoint speeches.
    starts = [i for i in range(1, len(heldout) - 1) if heldout[i].endswith(":") and heldout[i - 1] == "" and heldout[i + 1].strip()]
    rng.shuffle(starts)
    prompts = [heldout[i] + "\n" + heldout[i + 1] + "\n" for i in starts]
    need = gen + probes // 2
    assert len(prompts) >= need, f"half {name}: {len(prompts)} speeches in the held-out text, {need} needed"
    with open(f"{work}/gen-{name}.jsonl", "w", encoding="utf-8") as f:
        for k, p in enumerate(prompts[:gen]): f.write(json.dumps({"id": f"gen-{name}-{k}", "prompt": p}) + "\n")
    probe_rows[name] = prompts[gen:need]
    print(f"half {name}: {len(half)} lines, {len(train)} for training ({len(rows)} rows), {len(heldout)} held out ({len(starts)} speeches)", file=sys.stderr)
with open(f"{work}/gen.jsonl", "w", encoding="utf-8") as f:
    for name in "AB": f.write(open(f"{work}/gen-{name}.jsonl", encoding="utf-8").read())
order = [p for pair in zip(probe_rows["A"], probe_rows["B"]) for p in pair]
with open(f"{work}/probe.jsonl", "w", encoding="utf-8") as f:
    for k, p in enumerate(order): f.write(json.dumps({"id": f"probe-{k}", "prompt": p}) + "\n")
PY
for n in 25 50 100; do head -n "$n" "$work/probe.jsonl" >"$work/probe-$n.jsonl"; done
cp "$work/probe.jsonl" "$work/probe-$PROBES.jsonl"

train() { # out data mode seed config steps [extra...]
  local out=$1 data=$2 mode=$3 seed=$4 config=$5 steps=$6; shift 6
  [[ -f $out/.done ]] && return 0
  mkdir -p "$out"
  local clock=$SECONDS
  distill train --data "$data" --out "$out" --mode "$mode" --student-config "$config" --tokenizer "$tok" --chat-template plain \
    --steps "$steps" --batch-size 16 --seq-len 192 --seed "$seed" --resume "$@" >"$out.log" 2>&1 || { log "training $out failed: $out.log"; return 1; }
  touch "$out/.done"
  log "trained $(basename "$(dirname "$out")")/$(basename "$out") in $((SECONDS - clock)) s"
}

# Teachers: same architecture, same budget, one half each; the siblings A2 and B2 differ from A and B in their seed only.
for t in A B; do
  train "$work/teachers/$t" "$work/data/raw-$t" sft 1 "$here/teacher.json" "$TEACHER_STEPS" --lr 0.003 --eval-every 100
  train "$work/teachers/${t}2" "$work/data/raw-$t" sft "$SIBLING_SEED" "$here/teacher.json" "$TEACHER_STEPS" --lr 0.003 --eval-every 100
done
# Each teacher's loss on both halves' held-out text (the teachers must differ, each best on its own half).
[[ -f $work/teacher-eval-A.log ]] || for h in A B; do
  distill eval --model "A=checkpoint:$work/teachers/A" --model "B=checkpoint:$work/teachers/B" --data "$work/heldout-$h.jsonl" \
    --limit 200 --samples 0 >"$work/teacher-eval-$h.log" 2>&1 || log "eval on held-out $h failed: $work/teacher-eval-$h.log"
done

# Teacher data: both teachers answer the same prompts from both halves.
for t in A B; do
  out="$work/data/gen-$t"
  [[ -f $out/.done ]] && continue
  clock=$SECONDS
  distill generate --teacher "checkpoint:$work/teachers/$t" --prompts "$work/gen.jsonl" --out "$out" --samples "$SAMPLES" \
    --max-tokens "$MAX_TOKENS" --temperature 1 --top-logprobs "$TOP_LOGPROBS" --seed 1 --concurrency 1 >"$work/generate-$t.log" 2>&1
  touch "$out/.done"
  log "teacher $t answered $(wc -l <"$out/data.jsonl") rows in $((SECONDS - clock)) s"
done

test_one() { # student parent reference prompts [family] → provenance-PARENT-N[-family].json in the student's folder
  local model="$work/students/$1" name="provenance-$2-$4${5:+-family}"
  local refs=(--reference "checkpoint:$work/teachers/$3")
  [[ -n ${5:-} ]] && refs+=(--reference "checkpoint:$work/teachers/${2}2" --reference "checkpoint:$work/teachers/${3}2")
  [[ -f $work/students/$1/$name.json ]] && return 0
  distill provenance --suspect "checkpoint:$model" --parent "checkpoint:$work/teachers/$2" "${refs[@]}" \
    --prompts "$work/probe-$4.jsonl" --max-tokens "$PROBE_TOKENS" --alpha 0.01 --ledger "$work/provenance-ledger.db" --json "$work/students/$1/$name.json" \
    >"$work/students/$1/$name.log" 2>&1 || { log "provenance of $1 (parent $2, $4 probes${5:+, family}) failed"; return 1; }
}
p_of() { python3 -c "import json,sys; print('%.3g' % json.load(open(sys.argv[1]))['p'])" "$1"; }
# The teachers against each other: how far two same-domain models agree by chance (and every teacher answer into the ledger).
mkdir -p "$work/students/teacherA"
[[ -f $work/students/teacherA/provenance-A-$PROBES.json ]] || distill provenance --suspect "checkpoint:$work/teachers/A" \
  --parent "checkpoint:$work/teachers/A" --reference "checkpoint:$work/teachers/B" --prompts "$work/probe.jsonl" --max-tokens "$PROBE_TOKENS" \
  --alpha 0.01 --ledger "$work/provenance-ledger.db" --json "$work/students/teacherA/provenance-A-$PROBES.json" >"$work/teachers-agreement.log" 2>&1
log "teacher A against teacher B: agreement $(python3 -c "import json,sys; print('%.3f' % json.load(open(sys.argv[1]))['figures']['agreement_reference_1'])" "$work/students/teacherA/provenance-A-$PROBES.json")"
# Each teacher against its sibling: how far two models of the same data and recipe agree (and the siblings' answers into the ledger).
for t in A B; do
  mkdir -p "$work/students/teacher$t"
  json="$work/students/teacher$t/provenance-$t-$PROBES-sibling.json"
  [[ -f $json ]] || distill provenance --suspect "checkpoint:$work/teachers/$t" --parent "checkpoint:$work/teachers/$t" \
    --reference "checkpoint:$work/teachers/${t}2" --prompts "$work/probe.jsonl" --max-tokens "$PROBE_TOKENS" --alpha 0.01 \
    --ledger "$work/provenance-ledger.db" --json "$json" >"$work/teachers-sibling-$t.log" 2>&1
  log "teacher $t against its sibling ${t}2: agreement $(python3 -c "import json,sys; print('%.3f' % json.load(open(sys.argv[1]))['figures']['agreement_reference_1'])" "$json")"
done

# Students, one training process at a time, each tested as soon as it is trained; seed by seed, so that a shortened run
# still has every group. The test runs with every probe for both parents (each model answers each probe once, into the
# ledger), then on the first 25, 50 and 100 probes for the true parent (controls: A), which the ledger replays.
student() { # group data mode seed parent [train options...]
  local s="$1/seed-$4" parent=$5 clock
  train "$work/students/$s" "$2" "$3" "$4" "$repo/demo/student.json" "$STUDENT_STEPS" --lr 0.004 "${@:6}" || return 0
  clock=$SECONDS
  test_one "$s" A B "$PROBES" && test_one "$s" B A "$PROBES" || return 0
  local other=$([[ $parent == A ]] && echo B || echo A)
  for n in 25 50 100; do test_one "$s" "$parent" "$other" "$n" || true; done
  # The family test: the siblings join the references.
  test_one "$s" A B "$PROBES" family && test_one "$s" B A "$PROBES" family || return 0
  for n in 25 50 100; do test_one "$s" "$parent" "$other" "$n" family || true; done
  log "tested $s in $((SECONDS - clock)) s: p(from A) $(p_of "$work/students/$s/provenance-A-$PROBES.json"), p(from B) $(p_of "$work/students/$s/provenance-B-$PROBES.json")"
}
for seed in $SEEDS; do
  for mode in $MODES; do
    for t in A B; do
      # whitebox and onpolicy read the teacher itself; sft and topk only its data.
      student "$t-$mode" "$work/data/gen-$t" "$mode" "$seed" "$t" $([[ $mode == whitebox || $mode == onpolicy ]] && echo "--teacher checkpoint:$work/teachers/$t")
    done
  done
  [[ " $CONTROL_SEEDS " == *" $seed "* ]] && student rawA-sft "$work/data/raw-A" sft "$seed" A
done
for seed in $CONTROL_SEEDS; do [[ " $SEEDS " == *" $seed "* ]] || student rawA-sft "$work/data/raw-A" sft "$seed" A; done

# The report: a row per student, precision and recall per mode, prompts needed; the plot from its data.
python3 - "$work" "$PROBES" <<'PY' >"$work/report.md"
import glob, json, os, statistics, sys
work, probes = sys.argv[1], int(sys.argv[2])
sizes = sorted({25, 50, 100, probes})
alpha = 0.01
kinds = {"": "one reference (the other teacher)", "-family": "three references (the other teacher and both siblings)"}
rows = []
for d in sorted(d for d in glob.glob(f"{work}/students/*/seed-*") if os.path.isdir(d)):
    group, seed = d.split("/")[-2], int(d.split("-")[-1])
    if not all(os.path.exists(f"{d}/provenance-{t}-{probes}.json") for t in "AB"): continue   # not tested (yet)
    truth = group[0] if group[0] in "AB" else None    # rawA: trained on half A's text, from no teacher
    r = {"group": group, "mode": group.split("-")[1], "seed": seed, "truth": truth}
    for t in "AB":
        for n in sizes:
            for k in kinds:
                if os.path.exists(f := f"{d}/provenance-{t}-{n}{k}.json"): r[(t, n, k)] = json.load(open(f))
    rows.append(r)
def needed(r, t, k):
    """The fewest probes from which this and every longer prefix detects t at p < alpha (None: not at the full set)."""
    known = [n for n in sizes if (t, n, k) in r]
    for n in known:
        if all(r[(t, m, k)]["p"] < alpha for m in known if m >= n): return n
    return None
def p_cell(r, t, k): return f"{r[(t, probes, k)]['p']:.2g}" if (t, probes, k) in r else "—"
print("| student | seed | agreement with A | with B | with A2 | with B2 | p (from A?) | p (from B?) | verdict at p < 0.01 | probes needed | p (from A?), family | p (from B?), family | verdict, family | probes needed, family |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: |")
for r in rows:
    a, b = r[("A", probes, "")], r[("B", probes, "")]
    fam = r.get(("A", probes, "-family"), {}).get("figures", {})   # references: B, A2, B2
    sib = lambda key: f"{fam[key]:.1%}" if key in fam else "—"
    cells = []
    for k in kinds:
        tested = all((t, probes, k) in r for t in "AB")
        verdict = (", ".join(f"from {t}" for t in "AB" if r[(t, probes, k)]["p"] < alpha) or "neither") if tested else "—"
        cells += [p_cell(r, "A", k), p_cell(r, "B", k), verdict, str(needed(r, r["truth"] or "A", k) or "—")]
    print(f"| {r['group']} | {r['seed']} | {a['figures']['agreement_parent']:.1%} | {b['figures']['agreement_parent']:.1%} | {sib('agreement_reference_2')} | {sib('agreement_reference_3')} | " + " | ".join(cells) + " |")
for k, title in kinds.items():
    tested = [r for r in rows if all((t, probes, k) in r for t in "AB")]
    if not tested: continue
    print()
    print(f"Precision and recall with {title}:")
    print()
    print("| mode | question | students of that parent | TP | FP | FN | precision | recall | median probes needed (detected ones) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode in sorted({r["mode"] for r in tested if r["truth"]}) + ["all"]:
        for t in "AB":
            # The pool: that mode's students of both teachers, and the raw-text controls.
            pool = [r for r in tested if r["truth"] is None or mode == "all" or r["mode"] == mode]
            pos = [r for r in pool if r["truth"] == t]
            det = [r for r in pool if r[(t, probes, k)]["p"] < alpha]
            tp = sum(r["truth"] == t for r in det); fp = len(det) - tp; fn = len(pos) - tp
            needs = [n for r in pos if (n := needed(r, t, k))]
            prec = f"{tp / len(det):.2f}" if det else "—"
            rec = f"{tp / len(pos):.2f}" if pos else "—"
            print(f"| {mode} | from {t}? | {len(pos)} | {tp} | {fp} | {fn} | {prec} | {rec} | {statistics.median(needs) if needs else '—'} |")
    ctrl = [r for r in tested if r["truth"] is None]
    print()
    print(f"Raw-text controls called 'from A' at p < 0.01: {sum(r[('A', probes, k)]['p'] < alpha for r in ctrl)} of {len(ctrl)}; 'from B': {sum(r[('B', probes, k)]['p'] < alpha for r in ctrl)} of {len(ctrl)}.")
    q = tested[0][("A", probes, k)]
    print(f"One test at {probes} probes: {q['queries']} queries, {q['tokens']} generated tokens (suspect, parent and references together).")
print()
for t, other in [("A", "B"), ("A", "A2"), ("B", "B2")]:
    f = f"{work}/students/teacher{t}/provenance-{t}-{probes}{'' if other == 'B' else '-sibling'}.json"
    if os.path.exists(f): print(f"Teacher {t} against {other} on the probes: word agreement {json.load(open(f))['figures']['agreement_reference_1']:.1%}.")
with open(f"{work}/plot.tsv", "w") as f:
    for r in rows:
        for n in sizes:
            t = r["truth"] or "A"
            if (t, n, "") in r: f.write(f"{r['group']}\t{r['seed']}\t{n}\t{r[(t, n, '')]['log10_p'] if t == 'A' else 0}\t{r[(t, n, '')]['log10_p'] if t == 'B' else 0}\n")
PY
cat "$work/report.md"
nice -n "$NICE" dotnet build -c Release -v quiet -nologo "$repo/bench/Provenance" >/dev/null
nice -n "$NICE" dotnet "$repo/bench/Provenance/bin/Release/net10.0/Provenance.dll" blackbox-plot --in "$work/plot.tsv" --png "$results/provenance-blackbox.png"
log "report: $work/report.md; plot: $results/provenance-blackbox.png"
