#!/usr/bin/env python3
"""Turns the JSON of `hearth bench wake --json --scores` (and, if given, of
bench/wake-openwakeword.py on the same files) into the Markdown section bench/wake prints.
Standard library only.

    wake-report.py RUST.json [PYTHON.json]

File names carry the grouping: positives are `pos-<voice>-<speed>-t<text>[-noisy].wav`,
negatives `neg-<what>.wav`.
"""

import json
import os
import re
import sys
from collections import defaultdict

# Scores of the first blocks after a reset depend on each implementation's start-up noise
# (openWakeWord draws it at random); from this block on, both see only the file's audio.
SETTLED_BLOCK = 16


def summary(report):
    pos = [f for f in report["files"] if f["positive"]]
    neg = [f for f in report["files"] if not f["positive"]]
    hours = sum(f["audio_s"] for f in neg) / 3600
    audio = sum(f["audio_s"] for f in report["files"])
    cpu = sum(f["cpu_s"] for f in report["files"])
    detected = sum(1 for f in pos if f["detections"])
    false = sum(len(f["detections"]) for f in neg)
    return {
        "positives": len(pos),
        "detected": detected,
        "double": sum(max(0, len(f["detections"]) - 1) for f in pos),
        "false": false,
        "hours": hours,
        "per_hour": false / hours if hours else 0.0,
        "cpu": cpu / audio if audio else 0.0,
        "load_s": report["load_s"],
    }


def row(name, s):
    return (
        f"| {name} | {s['detected']}/{s['positives']} ({100 * s['detected'] / max(1, s['positives']):.1f} %) "
        f"| {s['double']} | {s['false']} | {s['per_hour']:.2f} | {100 * s['cpu']:.2f} % | {s['load_s']:.2f} s |"
    )


def positive_key(path):
    """(voice, speed, noisy) from a positive clip's file name."""
    m = re.match(r"pos-(.+)-([^-]+)-(t\d)(-noisy)?\.wav$", os.path.basename(path))
    if not m:
        return os.path.basename(path), "?", False
    return m.group(1), m.group(2), bool(m.group(4))


def main():
    rust = json.load(open(sys.argv[1]))
    python = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else None
    rs = summary(rust)
    print(f"Negative audio: {60 * rs['hours']:.1f} min; positives: {rs['positives']} clips.")
    print()
    print("| implementation | detected | double fires | false wakes | false wakes/hour | CPU per audio second (one core) | load |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("Hearth (Rust: incremental embedding, tract-onnx 0.23.9 for mel and classifier)", rs))
    if python:
        print(row("openWakeWord 0.5.1 (Python, onnxruntime 1.32.0)", summary(python)))
    print()

    # Per voice: detections clean / in noise, and best scores (Hearth's; Python's beside them).
    py_by_file = {f["file"]: f for f in python["files"]} if python else {}
    groups = defaultdict(lambda: {"clean": [], "noisy": []})
    speeds = defaultdict(lambda: {"clean": [], "noisy": []})
    for f in rust["files"]:
        if f["positive"]:
            voice, speed, noisy = positive_key(f["file"])
            groups[voice]["noisy" if noisy else "clean"].append(f)
            speeds[speed]["noisy" if noisy else "clean"].append(f)
    det = lambda fs: f"{sum(1 for f in fs if f['detections'])}/{len(fs)}" if fs else "-"
    print("Per voice (positives; best score per clip, Hearth" + (" / Python" if python else "") + "):")
    print()
    print("| voice | detected clean | detected in pink noise 15 dB | best scores clean | best scores in noise |")
    print("|---|---:|---:|---|---|")

    def scores(files):
        out = []
        for f in files:
            s = f"{f['max_score']:.3f}"
            if f["file"] in py_by_file:
                s += f"/{py_by_file[f['file']]['max_score']:.3f}"
            out.append(s)
        return " ".join(out)

    for voice in sorted(groups):
        g = groups[voice]
        print(f"| {voice} | {det(g['clean'])} | {det(g['noisy'])} | {scores(g['clean'])} | {scores(g['noisy'])} |")
    print()
    print("By speaking rate (espeak-ng words per minute; Piper length scale):")
    print()
    print("| rate | detected clean | detected in pink noise 15 dB |")
    print("|---|---:|---:|")
    for speed in sorted(speeds):
        print(f"| {speed} | {det(speeds[speed]['clean'])} | {det(speeds[speed]['noisy'])} |")
    print()

    print("Negative audio (false wakes, highest score):")
    print()
    print("| file | minutes | Hearth |" + (" Python |" if python else ""))
    print("|---|---:|---|" + ("---|" if python else ""))
    for f in rust["files"]:
        if f["positive"]:
            continue
        cell = f"{len(f['detections'])} (max {f['max_score']:.3f})"
        line = f"| {os.path.basename(f['file'])} | {f['audio_s'] / 60:.1f} | {cell} |"
        if python:
            p = py_by_file[f["file"]]
            line += f" {len(p['detections'])} (max {p['max_score']:.3f}) |"
        print(line)
    for f in rust["files"]:
        if not f["positive"] and f["detections"]:
            at = ", ".join(f"{t:.1f} s" for t in f["detections"])
            print(f"\nHearth's false wakes in {os.path.basename(f['file'])} at {at}")
    print()

    if python:
        diffs, settled, blocks, disagree = [], [], 0, []
        for f in rust["files"]:
            p = py_by_file[f["file"]]
            a, b = f["scores"], p["scores"]
            if len(a) != len(b):
                sys.exit(f"{f['file']}: {len(a)} blocks in Hearth, {len(b)} in Python")
            blocks += len(a)
            for i, (x, y) in enumerate(zip(a, b)):
                d = abs(x - y)
                diffs.append(d)
                if i >= SETTLED_BLOCK:
                    settled.append(d)
            if [round(t, 2) for t in f["detections"]] != [round(t, 2) for t in p["detections"]]:
                disagree.append(f"{os.path.basename(f['file'])} (Hearth {f['detections']}, Python {p['detections']})")
        settled.sort()
        diffs.sort()
        q = lambda v, x: v[min(len(v) - 1, int(x * len(v)))] if v else 0.0
        print(f"Score agreement, Hearth vs openWakeWord on the same {blocks} blocks of 80 ms:")
        print()
        print("| blocks | max abs difference | 99.9th percentile | mean |")
        print("|---|---:|---:|---:|")
        print(f"| from block {SETTLED_BLOCK} after each reset ({len(settled)}) | {max(settled, default=0):.2e} "
              f"| {q(settled, 0.999):.2e} | {sum(settled) / max(1, len(settled)):.2e} |")
        print(f"| all, including openWakeWord's random start-up noise ({len(diffs)}) | {max(diffs, default=0):.2e} "
              f"| {q(diffs, 0.999):.2e} | {sum(diffs) / max(1, len(diffs)):.2e} |")
        print()
        if disagree:
            print("Detections that differ: " + "; ".join(disagree))
        else:
            print("Detections (which files, which blocks): identical.")


if __name__ == "__main__":
    main()
