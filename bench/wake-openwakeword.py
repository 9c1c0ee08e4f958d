#!/usr/bin/env python3
"""The Python reference side of bench/wake: openWakeWord 0.5.1 (onnxruntime) on the same WAV
files as `hearth bench wake`, with the same rules, printing the same JSON.

    wake-openwakeword.py --models-dir models --model hey_jarvis [--threshold 0.5]
        [--refractory 2.0] [--scores] --positive A.wav ... --negative B.wav ...

Rules shared with Hearth: every file starts from a fresh detector (a new Model, numpy seeded,
so its random start-up noise repeats); audio goes in 1280-sample blocks, the last one padded
with silence; openWakeWord itself zeroes the first 5 scores; a score >= threshold (and > 0)
fires unless the last detection is less than `refractory` seconds of audio ago. CPU time is
time.process_time() around the predict calls only (onnxruntime runs single-threaded here, as
openWakeWord configures it). Needs the packages of bench/requirements-wake.txt.
"""

import argparse
import json
import os
import sys
import time
import wave

import numpy as np
from openwakeword.model import Model

BLOCK = 1280
RATE = 16000


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"{path}: bench/wake writes 16 kHz mono 16-bit WAV; this is not one")
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def load(args):
    np.random.seed(0)
    return Model(
        wakeword_models=[os.path.join(args.models_dir, f"{args.model}_v0.1.onnx")],
        inference_framework="onnx",
        melspec_model_path=os.path.join(args.models_dir, "melspectrogram.onnx"),
        embedding_model_path=os.path.join(args.models_dir, "embedding_model.onnx"),
    )


def measure(args, path, positive):
    audio = read_wav(path)
    model = load(args)
    key = next(iter(model.models))
    refractory = int(round(args.refractory * RATE))
    since = None
    detections, scores = [], []
    cpu = 0.0
    for start in range(0, len(audio), BLOCK):
        block = audio[start : start + BLOCK]
        n = len(block)
        if n < BLOCK:
            block = np.concatenate([block, np.zeros(BLOCK - n, dtype=np.int16)])
        t = time.process_time()
        score = float(model.predict(block)[key])
        cpu += time.process_time() - t
        if since is not None:
            since += n
        if score > 0 and score >= args.threshold and (since is None or since >= refractory):
            since = 0
            detections.append((start + n) / RATE)
        scores.append(score)
    result = {
        "file": path,
        "positive": positive,
        "audio_s": len(audio) / RATE,
        "cpu_s": cpu,
        "detections": detections,
        "max_score": max(scores, default=0.0),
    }
    if args.scores:
        result["scores"] = scores
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models-dir", default="models")
    p.add_argument("--model", default="hey_jarvis")
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--refractory", type=float, default=2.0, help="seconds of audio")
    p.add_argument("--scores", action="store_true", help="include every block's score")
    p.add_argument("--positive", nargs="*", default=[])
    p.add_argument("--negative", nargs="*", default=[])
    args = p.parse_args()
    t = time.perf_counter()
    load(args)
    load_s = time.perf_counter() - t
    files = [measure(args, f, True) for f in args.positive]
    files += [measure(args, f, False) for f in args.negative]
    json.dump({"model": args.model, "threshold": args.threshold, "load_s": load_s, "files": files}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
