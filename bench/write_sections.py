#!/usr/bin/env python3
"""Replaces generated sections of a Markdown file in place.

    bench/write_sections.py FILE NAME CONTENT.md [NAME CONTENT.md ...]

Each NAME's text goes between "<!-- BEGIN generated: NAME -->" and "<!-- END generated: NAME -->"
in FILE, replacing what was there. A NAME without markers yet is added after the last generated
section (or at the end of FILE), in the order given. Everything outside the markers is kept.
"""

import os
import re
import sys


def begin(name):
    return f"<!-- BEGIN generated: {name} -->"


def end(name):
    return f"<!-- END generated: {name} -->"


def main():
    if len(sys.argv) < 4 or len(sys.argv) % 2 != 0:
        sys.exit(__doc__)
    path = sys.argv[1]
    pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
    text = open(path, encoding="utf-8").read()
    for name, content_path in pairs:
        content = open(content_path, encoding="utf-8").read().strip("\n")
        block = f"{begin(name)}\n{content}\n{end(name)}"
        pattern = re.compile(re.escape(begin(name)) + r".*?" + re.escape(end(name)), re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: block, text, count=1)
            continue
        ends = list(re.finditer(r"<!-- END generated: [^>]*-->", text))
        if ends:
            at = ends[-1].end()
            text = text[:at] + "\n\n" + block + text[at:]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
