#!/usr/bin/env python3
"""hassil, timed on the home and sentences `hearth bench intent --export DIR` wrote.

  intent_hassil.py --data WHEEL --dir DIR --language en|de [--rounds N]

Compiles English and German (as Hearth's benchmark does), builds the home's slot lists the
way tests/hassil/oracle.py does, then calls recognize_best on every sentence N times on one
thread, as Home Assistant calls it. Prints compile time, the memory the compiled sentences
take, and per-sentence median, mean and p99.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "hassil"))
import oracle  # noqa: E402  (its Home and load_language)
from hassil import Intents, recognize_best  # noqa: E402


def resident() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--language", required=True)
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args()

    before = resident()
    started = time.perf_counter()
    intents = {lang: Intents.from_dict(oracle.load_language(args.data, lang)) for lang in ("en", "de")}
    compile_s = time.perf_counter() - started
    memory = resident() - before

    home = json.loads((Path(args.dir) / "home.json").read_text(encoding="utf-8"))
    lists = oracle.Home(home, args.language, False).slot_lists()
    sentences = [s for s in (Path(args.dir) / "sentences.txt").read_text(encoding="utf-8").splitlines() if s]
    context = {"area": {"value": home["areas"][0]["name"], "text": home["areas"][0]["name"]}}
    matched = sum(
        recognize_best(s, intents[args.language], slot_lists=lists, intent_context=context, language=args.language,
                       best_metadata_key=oracle.METADATA_CUSTOM_SENTENCE, best_slot_name="name") is not None
        for s in sentences
    )
    times = []
    for _ in range(args.rounds):
        for s in sentences:
            t = time.perf_counter()
            recognize_best(s, intents[args.language], slot_lists=lists, intent_context=context,
                           language=args.language, best_metadata_key=oracle.METADATA_CUSTOM_SENTENCE,
                           best_slot_name="name")
            times.append(time.perf_counter() - t)
    times.sort()
    p99 = times[round((len(times) - 1) * 0.99)]
    print(f"hassil ({args.language}): {len(home['entities'])} entities, {len(sentences)} sentences "
          f"({matched} recognised), {len(times)} runs")
    print(f"compile (en+de): {compile_s * 1e3:.1f} ms, resident memory {memory / 1e6:.1f} MB")
    print(f"per sentence: mean {statistics.mean(times) * 1e6:.0f} µs, median {statistics.median(times) * 1e6:.0f} µs, "
          f"p99 {p99 * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
