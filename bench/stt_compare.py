#!/usr/bin/env python3
"""Hearth against its STT peers on the same clips, pair by pair, and the Markdown report of it.

    bench/stt_compare.py run --hearth BIN --hearth-model models/ggml-tiny.en.bin \\
        --fw-python .cache/bench-venv/bin/python --ct2 .cache/ct2/tiny.en [--language en] \\
        [--threads "2"] [--runs 3] [--configs hearth-tuned,whisper.cpp-default,fw-int8-b1,...] \\
        --raw OUT.jsonl CLIP.wav...
    bench/stt_compare.py report commands|scaling RAW.jsonl...

`run` starts two measuring workers per thread count, `hearth bench stt --serve` (tuned and
whisper.cpp-default decoding of one ggml file) and bench/peers_stt.py --serve (faster-whisper on
the CTranslate2 model that ggml file was converted from), warms every config up on the first clip,
then for each run and clip asks every config in turn, rotating which goes first. Only one
engine works at a time: after each answer the driver waits until the worker that answered has
stopped using CPU (no thread pool still spinning), so neither slows the other, and a machine
that is busy anyway slows neighbouring measurements alike. Every transcript is scored by Hearth's
own word-error function (`hearth::bench::word_errors`, through the worker), so all configs are
judged by one rule. Writes one JSON line per measurement (plus a meta line) to --raw.

`report` turns raw files into Markdown: per config the median over clips of each clip's median
over runs, p90 (nearest rank, as `hearth bench stt`), min–max of single measurements, the spread
of the per-run medians, word error rate over all runs, the ratio Hearth tuned / config taken
pair by pair (same clip, same run: measured seconds apart), as median (min–max), and the CPU
time the engine's threads spent per clip (busy-waiting included; with one thread and no
spinning it is close to what the clip would take on an idle core, whatever the load).
Standard library only.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections import defaultdict

HEARTH = "hearth-tuned"
NAMES = {
    "hearth-tuned": "Hearth tuned",
    "whisper.cpp-default": "whisper.cpp defaults",
}
HEARTH_CONFIGS = {"hearth-tuned": "tuned", "whisper.cpp-default": "default"}
DEFAULT_CONFIGS = "hearth-tuned,whisper.cpp-default,fw-int8-b1,fw-float32-b1,fw-int8-b5,fw-float32-b5"


def name(config):
    if config in NAMES:
        return NAMES[config]
    if config.startswith("fw-"):
        _, compute, beam = config.split("-")
        return f"faster-whisper {compute}, beam {beam[1:]}"
    return config


# ---------------------------------------------------------------------------------------------
# Measuring.


class Worker:
    """A measuring process answering one JSON line per JSON request line."""

    def __init__(self, label, argv, env=None):
        self.label = label
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env
        )
        self.ready = self._read()
        if not self.ready.get("ready"):
            raise RuntimeError(f"{label}: not ready: {self.ready}")

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"{self.label} exited (code {code}) without answering; its errors are above")
        return json.loads(line)

    def ask(self, request):
        self.proc.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"{self.label}: {answer['error']} (request {request})")
        return answer

    def cpu_ticks(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime of all threads

    def settle(self, window=0.02, limit=1.0):
        """Waits until the process used no CPU for `window` seconds (at most `limit` seconds)."""
        deadline = time.monotonic() + limit
        before = self.cpu_ticks()
        while time.monotonic() < deadline:
            time.sleep(window)
            now = self.cpu_ticks()
            if now == before:
                return
            before = now

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def busy_ticks():
    """CPU time used by everything on the machine so far, in clock ticks (from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq + steal


class Interference:
    """How many cores, on average, processes other than the benchmark's own used meanwhile."""

    def __init__(self):
        self.wall, self.busy, self.own = time.monotonic(), busy_ticks(), self.own_ticks()

    @staticmethod
    def own_ticks():
        t = os.times()
        return round((t.user + t.system) * os.sysconf("SC_CLK_TCK"))

    def others(self, workers):
        """Average cores used by other processes since creation; `workers` were started after it."""
        hz = os.sysconf("SC_CLK_TCK")
        own = self.own_ticks() - self.own + sum(w.cpu_ticks() for w in workers)
        elapsed = time.monotonic() - self.wall
        return max(0.0, (busy_ticks() - self.busy - own) / hz / elapsed) if elapsed > 0 else 0.0


def run(args):
    configs = [c for c in args.configs.split(",") if c]
    for c in configs:
        if c not in HEARTH_CONFIGS and not c.startswith("fw-"):
            sys.exit(f"stt_compare: unknown config {c}")
    clips = args.clips
    references = {}
    for clip in clips:
        txt = os.path.splitext(clip)[0] + ".txt"
        references[clip] = open(txt, encoding="utf-8").read().strip() if os.path.exists(txt) else None
    fw_configs = [c for c in configs if c.startswith("fw-")]
    here = os.path.dirname(os.path.abspath(__file__))
    out = open(args.raw, "w", encoding="utf-8")
    meta = {
        "meta": True,
        "hearth_model": args.hearth_model,
        "ct2": args.ct2,
        "language": args.language,
        "configs": configs,
        "runs": args.runs,
        "loadavg_start": loadavg(),
        "cores": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    records = []
    for threads in [int(t) for t in args.threads.split()]:
        interference = Interference()
        env = dict(os.environ, RUST_LOG="warn")
        hearth = Worker(
            f"hearth bench stt --serve ({threads} threads)",
            [args.hearth, "bench", "stt", "--serve", "--model", args.hearth_model,
             "--language", args.language, "--threads", str(threads)],
            env,
        )
        meta.setdefault("load_ms", {})[f"hearth/{threads}"] = hearth.ready.get("load_ms")
        peer = None
        if fw_configs:
            peer = Worker(
                f"peers_stt.py --serve ({threads} threads)",
                [args.fw_python, os.path.join(here, "peers_stt.py"), "--serve", "--model", args.ct2,
                 "--language", args.language, "--threads", str(threads), "--configs", ",".join(fw_configs)],
            )
            meta["load_ms"][f"faster-whisper/{threads}"] = peer.ready.get("load_ms")

        def ask(config, clip):
            worker = hearth if config in HEARTH_CONFIGS else peer
            request = {"op": "transcribe", "file": os.path.abspath(clip),
                       "config": HEARTH_CONFIGS.get(config, config)}
            before = worker.cpu_ticks()
            answer = worker.ask(request)
            worker.settle()
            # CPU time of the worker's threads for this clip, spinning included (10 ms resolution).
            answer["cpu_ms"] = (worker.cpu_ticks() - before) * 1000.0 / os.sysconf("SC_CLK_TCK")
            return answer

        for config in configs:  # warm-up, not counted
            ask(config, clips[0])
        total = args.runs * len(clips)
        for run_no in range(args.runs):
            for i, clip in enumerate(clips):
                k = (run_no + i) % len(configs)
                for position, config in enumerate(configs[k:] + configs[:k]):
                    answer = ask(config, clip)
                    records.append({
                        "threads": threads, "clip": os.path.basename(clip), "audio_ms": answer["audio_ms"],
                        "config": config, "run": run_no, "position": position, "ms": answer["ms"],
                        "cpu_ms": answer["cpu_ms"], "text": answer["text"], "reference": references[clip],
                    })
                done = run_no * len(clips) + i + 1
                if args.progress and (done % 10 == 0 or done == total):
                    print(f"stt_compare: {threads} thread(s): {done}/{total} clip rounds, load "
                          f"{loadavg()[0]:.2f}", file=sys.stderr)
        scores = {}
        for r in records:
            if r["threads"] != threads or r["reference"] is None:
                continue
            key = (r["reference"], r["text"])
            if key not in scores:
                s = hearth.ask({"op": "score", "reference": r["reference"], "text": r["text"]})
                scores[key] = (s["errors"], s["words"])
            r["errors"], r["words"] = scores[key]
        meta.setdefault("other_cores", {})[str(threads)] = interference.others([w for w in (hearth, peer) if w])
        hearth.close()
        if peer:
            peer.close()
    meta["loadavg_end"] = loadavg()
    out.write(json.dumps(meta) + "\n")
    for r in records:
        out.write(json.dumps(r, ensure_ascii=False) + "\n")
    out.close()


# ---------------------------------------------------------------------------------------------
# Reporting.


def percentile(values, p):
    """Nearest rank, as hearth::bench::percentile (so the median of an even count is the lower middle)."""
    if not values:
        return float("nan")
    v = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(v)))
    return v[min(rank, len(v)) - 1]


def median(values):
    return percentile(values, 50)


def load(paths):
    metas, records = [], []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                (metas if r.get("meta") else records).append(r)
    return metas, records


def cell(text):
    return (text or "").replace("|", "\\|").replace("\n", " ")


def fmt_ms(x):
    return f"{x:.0f}"


def ratio_cell(ratios):
    if not ratios:
        return "—"
    return f"{median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


def wer_cell(rs):
    errors = sum(r.get("errors", 0) for r in rs if r.get("reference") is not None)
    words = sum(r.get("words", 0) for r in rs if r.get("reference") is not None)
    if not words:
        return "—", float("nan")
    return f"{100.0 * errors / words:.1f}% ({errors}/{words})", errors / words


def per_clip_medians(records, config):
    by_clip = defaultdict(list)
    for r in records:
        if r["config"] == config:
            by_clip[r["clip"]].append(r["ms"])
    return {clip: median(v) for clip, v in by_clip.items()}


def pair_ratios(records, config):
    """Hearth tuned ms / config ms, for each (clip, run) measured by both."""
    hearth = {(r["clip"], r["run"]): r["ms"] for r in records if r["config"] == HEARTH}
    return [hearth[(r["clip"], r["run"])] / r["ms"] for r in records
            if r["config"] == config and (r["clip"], r["run"]) in hearth and r["ms"] > 0]


def summary_table(records, configs):
    lines = [
        "| config | median ms | p90 ms | min–max ms (single runs) | median of each run, min–max | "
        "Hearth/config, pair by pair: median (min–max) | CPU time, median ms | word error rate |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    stats = {}
    for config in configs:
        rs = [r for r in records if r["config"] == config]
        if not rs:
            continue
        clip_medians = list(per_clip_medians(records, config).values())
        run_medians = [median([r["ms"] for r in rs if r["run"] == n]) for n in sorted({r["run"] for r in rs})]
        all_ms = [r["ms"] for r in rs]
        ratios = pair_ratios(records, config) if config != HEARTH else []
        wer_text, wer = wer_cell(rs)
        cpu_values = [r["cpu_ms"] for r in rs if "cpu_ms" in r]
        cpu = fmt_ms(median(cpu_values)) if cpu_values else "—"
        stats[config] = {"median": median(clip_medians), "ratios": ratios, "wer": wer,
                         "errors": sum(r.get("errors", 0) for r in rs)}
        label = f"**{name(config)}**" if config == HEARTH else name(config)
        lines.append(
            f"| {label} | {fmt_ms(median(clip_medians))} | {fmt_ms(percentile(clip_medians, 90))} | "
            f"{fmt_ms(min(all_ms))}–{fmt_ms(max(all_ms))} | "
            f"{fmt_ms(min(run_medians))}–{fmt_ms(max(run_medians))} | "
            f"{'1 (itself)' if config == HEARTH else ratio_cell(ratios)} | {cpu} | {wer_text} |"
        )
    return lines, stats


def verdict(stats, peer="fw-int8-b1"):
    """One plain sentence: is Hearth ahead of `peer` on speed, at equal or better word error rate?"""
    if HEARTH not in stats or peer not in stats:
        return None
    h, p = stats[HEARTH], stats[peer]
    r = median(p["ratios"])
    faster = r < 1.0
    accurate = h["errors"] <= p["errors"]
    speed = (f"{1 / r:.1f}× faster (Hearth/peer {r:.2f}, pairwise median)" if faster
             else f"{r:.2f}× the time of it, i.e. slower (Hearth/peer, pairwise median)")
    wer = f"word error rate {100 * h['wer']:.1f}% vs {100 * p['wer']:.1f}%"
    if faster and accurate:
        return f"**Hearth tuned is ahead of {name(peer)}**: {speed}, {wer}."
    why = []
    if not faster:
        why.append("it is not faster")
    if not accurate:
        why.append("its word error rate is higher")
    return f"**Hearth tuned is NOT ahead of {name(peer)}** ({' and '.join(why)}): {speed}, {wer}."


def band_line(records, configs, low_ms=1500, high_ms=4000, peer="fw-int8-b1"):
    """The verdict again on the clips of 1.5–4 s only (the length of a typical command), when some
    clips fall outside that band."""
    band = [r for r in records if low_ms <= r["audio_ms"] <= high_ms]
    clips, in_band = {r["clip"] for r in records}, {r["clip"] for r in band}
    if not band or in_band == clips:
        return None
    _, stats = summary_table(band, configs)
    v = verdict(stats, peer)
    if not v:
        return None
    return (f"Clips of {low_ms / 1000:g}–{high_ms / 1000:g} s only ({len(in_band)} of {len(clips)}): "
            f"median {fmt_ms(stats[HEARTH]['median'])} ms vs {fmt_ms(stats[peer]['median'])} ms; {v}")


def meta_line(metas, records):
    clips = sorted({r["clip"] for r in records})
    lengths = sorted({(r["clip"], r["audio_ms"]) for r in records})
    secs = sorted(ms / 1000 for _, ms in lengths)
    runs = max((m["runs"] for m in metas), default=0)
    la_start = metas[0]["loadavg_start"] if metas else []
    la_end = metas[-1]["loadavg_end"] if metas else []
    threads = {str(r["threads"]) for r in records}
    other = [v for m in metas for t, v in m.get("other_cores", {}).items() if t in threads]
    others = f"; other processes used {max(other):.2f} cores on average meanwhile" if other else ""
    models = ", ".join(sorted({f"`{os.path.basename(m['hearth_model'])}` (Hearth, whisper.cpp) / "
                               f"`{os.path.relpath(m['ct2'])}` (faster-whisper)" for m in metas}))
    return (
        f"{len(clips)} clips, {secs[0]:.1f}–{secs[-1]:.1f} s (median {median(secs):.1f} s); models {models}; "
        f"{runs} timed run(s) per clip and config after one warm-up, configs rotated clip by clip; "
        f"load average (1 min) {la_start[0]:.2f} at start, {la_end[0]:.2f} at end{others}."
    )


def load_warning(metas):
    """A plain warning when other work competed for the cores during the measurement."""
    cores = metas[0].get("cores") or os.cpu_count() or 1
    others = [v for m in metas for v in m.get("other_cores", {}).values()]
    if not others or max(others) <= 0.1 * cores:
        return None
    return (f"⚠ Other processes used {max(others):.2f} of the {cores} cores on average while this was "
            "measured. whisper.cpp's thread pool busy-waits and suffers far more from that than "
            "CTranslate2's OpenMP threads, so these times are not representative; rerun on an idle machine. "
            "Word error rates do not depend on load.")


def report_commands(metas, records):
    configs = metas[0]["configs"]
    out = []
    warning = load_warning(metas)
    if warning:
        out += [warning, ""]
    for threads in sorted({r["threads"] for r in records}):
        rs = [r for r in records if r["threads"] == threads]
        out.append(f"**{threads} thread(s)** (`cpu_threads` = whisper.cpp threads = {threads}). "
                   + meta_line(metas, rs))
        out.append("")
        lines, stats = summary_table(rs, configs)
        out += lines
        out.append("")
        v = verdict(stats)
        if v:
            out += [v, ""]
        band = band_line(rs, configs)
        if band:
            out += [band, ""]
        # Per clip: median ms of each config, then the transcripts.
        medians = {c: per_clip_medians(rs, c) for c in configs}
        clips = sorted({r["clip"] for r in rs})
        audio = {r["clip"]: r["audio_ms"] for r in rs}
        out.append("<details><summary>Per clip: median ms of each config</summary>")
        out.append("")
        out.append("| clip | audio ms | " + " | ".join(name(c) for c in configs) + " |")
        out.append("|---|---:|" + "---:|" * len(configs))
        for clip in clips:
            out.append(f"| {clip} | {audio[clip]} | "
                       + " | ".join(fmt_ms(medians[c][clip]) if clip in medians[c] else "—" for c in configs)
                       + " |")
        out.append("")
        out.append("</details>")
        out.append("")
        last = {}
        for r in rs:
            last[(r["clip"], r["config"])] = r
        out.append("<details><summary>Per clip: transcripts (last run)</summary>")
        out.append("")
        out.append("| clip | reference | " + " | ".join(name(c) for c in configs) + " |")
        out.append("|---|---|" + "---|" * len(configs))
        for clip in clips:
            ref = next((r["reference"] for r in rs if r["clip"] == clip), "")
            out.append(f"| {clip} | {cell(ref)} | "
                       + " | ".join(cell(last[(clip, c)]["text"]) if (clip, c) in last else "—" for c in configs)
                       + " |")
        out.append("")
        out.append("</details>")
        out.append("")
    return "\n".join(out)


def report_scaling(metas, records):
    configs = metas[0]["configs"]
    out = [meta_line(metas, records), ""]
    warning = load_warning(metas)
    if warning:
        out += [warning, ""]
    peer = next((c for c in configs if c.startswith("fw-")), None)
    head = "| clip length | threads | " + " | ".join(f"{name(c)}, ms" for c in configs)
    head += f" | Hearth/{name(peer)}, pair by pair" if peer else ""
    head += " | Hearth real-time factor |"
    out.append(head)
    out.append("|---:|---:|" + "---:|" * len(configs) + ("---:|" if peer else "") + "---:|")
    lengths = sorted({round(r["audio_ms"] / 1000) for r in records})
    for threads in sorted({r["threads"] for r in records}):
        for length in lengths:
            rs = [r for r in records if r["threads"] == threads and round(r["audio_ms"] / 1000) == length]
            row = f"| {length} s | {threads} | "
            cells = []
            for c in configs:
                m = list(per_clip_medians(rs, c).values())
                cells.append(fmt_ms(median(m)) if m else "—")
            row += " | ".join(cells)
            if peer:
                row += " | " + ratio_cell(pair_ratios(rs, peer))
            hm = [r["ms"] / r["audio_ms"] for r in rs if r["config"] == HEARTH]
            row += f" | {median(hm):.3f} |" if hm else " | — |"
            out.append(row)
    out.append("")
    wer = []
    for threads in sorted({r["threads"] for r in records}):
        rs = [r for r in records if r["threads"] == threads]
        wer.append(f"{threads} thread(s): " + ", ".join(f"{name(c)} {wer_cell([r for r in rs if r['config'] == c])[0]}"
                                                       for c in configs))
    out.append("Word error rate over these clips — " + "; ".join(wer) + ".")
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--hearth", required=True)
    r.add_argument("--hearth-model", required=True)
    r.add_argument("--fw-python", required=True)
    r.add_argument("--ct2", required=True)
    r.add_argument("--language", default="en")
    r.add_argument("--threads", default="2", help='thread counts, e.g. "1 2"')
    r.add_argument("--runs", type=int, default=3)
    r.add_argument("--configs", default=DEFAULT_CONFIGS)
    r.add_argument("--raw", required=True)
    r.add_argument("--progress", action="store_true")
    r.add_argument("clips", nargs="+")
    p = sub.add_parser("report")
    p.add_argument("kind", choices=["commands", "scaling"])
    p.add_argument("raw", nargs="+")
    args = ap.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        metas, records = load(args.raw)
        if not records:
            sys.exit("stt_compare: no measurements in " + " ".join(args.raw))
        print(report_commands(metas, records) if args.kind == "commands" else report_scaling(metas, records))


if __name__ == "__main__":
    main()
