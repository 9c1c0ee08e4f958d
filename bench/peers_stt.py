#!/usr/bin/env python3
"""faster-whisper, measured the way `hearth bench stt` measures Hearth: the peer of the STT benchmark.

    .cache/bench-venv/bin/python bench/peers_stt.py --model .cache/ct2/tiny.en [--threads 2]
        [--language en] [--configs fw-int8-b1,fw-float32-b1,fw-int8-b5,fw-float32-b5] [--runs 1] CLIP.wav...
    .cache/bench-venv/bin/python bench/peers_stt.py --model DIR [--threads 2] [--language en] --serve

Loads the CTranslate2 model once per compute type (int8, float32; the file holds float16 weights,
CTranslate2 converts them on load), warms each up on one clip, then transcribes every clip with
each config. A config `fw-COMPUTE-bBEAM` is faster-whisper's WhisperModel.transcribe with
beam_size=BEAM and otherwise its defaults, except what a command needs and Hearth does too:
language given, no timestamps, no VAD, no conditioning on previous text. Threads: cpu_threads as
for Hearth, one worker.

The time of a clip is the wall time of `transcribe` plus consuming its segment generator (where
faster-whisper does the work), from audio already in memory as float32 — the WAV file is read
before the clock starts, as Hearth's bench does.

Batch mode prints one JSON line per clip, config and run: {"clip","config","run","ms","text"}.
--serve is the worker for bench/stt_compare.py: it prints {"ready":true,"load_ms":{...}}, then
answers each JSON line {"op":"transcribe","config":"fw-int8-b1","file":"x.wav"} on stdin with
{"ms","text","audio_ms"} (or {"error"}), until end of input.
"""

import argparse
import json
import sys
import time
import wave

import numpy as np

SAMPLE_RATE = 16000


def read_wav(path):
    """16 kHz mono 16-bit PCM (what bench/clips writes) as float32 in [-1, 1)."""
    with wave.open(path, "rb") as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(
                f"{path}: need 16 kHz mono 16-bit, got {w.getframerate()} Hz, "
                f"{w.getnchannels()} ch, {8 * w.getsampwidth()} bit"
            )
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def parse_config(name):
    """`fw-int8-b1` -> ("int8", 1)."""
    parts = name.split("-")
    if len(parts) != 3 or parts[0] != "fw" or not parts[2].startswith("b") or not parts[2][1:].isdigit():
        raise ValueError(f"config {name!r} is not fw-COMPUTE-bBEAM (e.g. fw-int8-b1)")
    return parts[1], int(parts[2][1:])


class Peer:
    """One loaded WhisperModel per compute type, created on first use."""

    def __init__(self, model_dir, threads, language):
        self.model_dir, self.threads, self.language = model_dir, threads, language
        self.models, self.load_ms, self.audio = {}, {}, {}

    def model(self, compute_type):
        from faster_whisper import WhisperModel

        if compute_type not in self.models:
            started = time.perf_counter()
            self.models[compute_type] = WhisperModel(
                self.model_dir, device="cpu", compute_type=compute_type, cpu_threads=self.threads, num_workers=1
            )
            self.load_ms[compute_type] = (time.perf_counter() - started) * 1000.0
        return self.models[compute_type]

    def samples(self, path):
        if path not in self.audio:
            self.audio[path] = read_wav(path)
        return self.audio[path]

    def transcribe(self, config, path):
        """(ms, text, audio_ms) of one clip with one config."""
        compute_type, beam = parse_config(config)
        model, audio = self.model(compute_type), self.samples(path)
        started = time.perf_counter()
        segments, _info = model.transcribe(
            audio,
            language=self.language,
            beam_size=beam,
            without_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        text = "".join(s.text for s in segments).strip()
        ms = (time.perf_counter() - started) * 1000.0
        return ms, text, len(audio) * 1000 // SAMPLE_RATE


def serve(peer, configs):
    for config in configs:  # load every compute type before saying ready
        peer.model(parse_config(config)[0])
    print(json.dumps({"ready": True, "load_ms": peer.load_ms}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if request.get("op") != "transcribe":
                raise ValueError(f"unknown op {request.get('op')!r}")
            ms, text, audio_ms = peer.transcribe(request["config"], request["file"])
            answer = {"ms": ms, "text": text, "audio_ms": audio_ms}
        except Exception as e:  # the driver reports it; the worker goes on
            answer = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer, ensure_ascii=False), flush=True)


def batch(peer, configs, clips, runs):
    for config in configs:  # warm-up, not counted
        peer.transcribe(config, clips[0])
    for run in range(runs):
        for i, clip in enumerate(clips):
            k = (run + i) % len(configs)
            for config in configs[k:] + configs[:k]:  # alternate which config goes first
                ms, text, _ = peer.transcribe(config, clip)
                print(json.dumps({"clip": clip, "config": config, "run": run, "ms": ms, "text": text},
                                 ensure_ascii=False), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="CTranslate2 model directory")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--language", default="en")
    ap.add_argument("--configs", default="fw-int8-b1,fw-float32-b1,fw-int8-b5,fw-float32-b5")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("clips", nargs="*")
    args = ap.parse_args()
    configs = [c for c in args.configs.split(",") if c]
    for c in configs:
        parse_config(c)
    peer = Peer(args.model, args.threads, args.language)
    if args.serve:
        serve(peer, configs)
    elif not args.clips:
        ap.error("give clips, or --serve")
    else:
        batch(peer, configs, args.clips, args.runs)


if __name__ == "__main__":
    main()
