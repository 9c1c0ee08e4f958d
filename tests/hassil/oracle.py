#!/usr/bin/env python3
"""The Python oracle of the hassil differential test.

Samples sentences from Home Assistant's sentence templates with hassil's own sampler,
recognizes each with hassil's recognize_best the way Home Assistant's conversation agent
calls it, and writes one JSON line per sentence:

  {"text": ..., "sampled_intent": ..., "context_area": ..., "result": null |
   {"intent": ..., "slots": {...}, "response": ...}}

  oracle.py --data WHEEL_OR_DIR --language LANG --home home.json \
            --count N --seed S --out FILE.jsonl [--jobs 2]
  oracle.py --data WHEEL_OR_DIR --language LANG --home home.json \
            --texts FILE --out FILE.jsonl        (one sentence a line, optional TAB area)

Slot lists and intent context follow Home Assistant's default agent
(homeassistant/components/conversation/default_agent.py, 2025):
  * {name}: a TextSlotList.from_tuples(allow_template=False) of every entity's aliases and
    name (aliases first, as HA yields them); context {"domain", "device_class" if set}.
    Unlike HA, the value out is always the entity's canonical name (HA gives an alias as
    itself), and the context also carries "area" when the entity has one. No template of
    the pinned data combines {name} with requires/excludes_context on "area", so that key
    never decides a match (a value's context is merged over the intent context and only
    then checked; see string_matcher.py and recognize.py).
  * {area}: area names and aliases, value out the area's name (HA: an alias as itself).
  * {floor}: floor names and aliases, value out the floor's name (as HA).
  * Intent context for a satellite in an area: {"area": {"value": NAME, "text": NAME}},
    exactly as HA's _make_intent_context builds it.
  * recognize_best(text, intents, slot_lists=..., intent_context=..., language=LANG,
    best_metadata_key="hass_custom_sentence", best_slot_name="name"), as HA's
    _recognize_strict. Only this first, strict stage is mirrored: HA's later stages
    (unexposed entities, allow_unmatched_entities for error messages) are not.
--ha-exact switches to HA's literal behaviour instead: alias values as HA gives them, no
"area" in the entity context, and the name list narrowed per sentence to the names whose
lower-cased text occurs in the lower-cased sentence (HA's _exposed_names_trie filter).
"""

import argparse
import json
import logging
import math
import multiprocessing
import random
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

from hassil import (
    Intents,
    RangeSlotList,
    TextSlotList,
    TextSlotValue,
    WildcardSlotList,
    recognize_best,
    sample_expression,
)
from hassil.errors import MissingListError, MissingRuleError
from hassil.expression import (
    Alternative,
    ListReference,
    Permutation,
    RuleReference,
    Sequence,
    TextChunk,
)
from hassil.trie import Trie
from hassil.util import check_excluded_context, check_required_context

# What HA marks custom sentences with; no built-in sentence has it, so it only mirrors
# the call (see recognize_best's best_metadata_key).
METADATA_CUSTOM_SENTENCE = "hass_custom_sentence"

# Fixed fillers for wildcard lists ({search_query}, {shopping_list_item}, ...), by list
# name, with a default for the rest. Deliberately English everywhere: wildcards take any
# text, and fixed words keep runs comparable across languages.
WILDCARD_FILL = {
    "shopping_list_item": ["milk", "pizza dough", "eggs"],
    "todo_list_item": ["milk", "pizza dough", "call mom"],
    "search_query": ["bohemian rhapsody", "the beatles", "jazz"],
    "message": ["dinner is ready", "hello"],
    "timer_name": ["pizza", "laundry"],
    "timer_command": ["turn off the oven", "lights out"],
    "zone": ["work", "school"],
}
WILDCARD_DEFAULT = ["milk", "pizza dough", "bohemian rhapsody"]

# The share of sentences spoken by a satellite standing in an area.
CONTEXT_SHARE = 1 / 3

# The share of draws that pick list values ignoring the template's requires_context and
# excludes_context, so that some sentences name an entity of the wrong domain.
UNCONSTRAINED_SHARE = 0.1


# ---------------------------------------------------------------------------------------
# Loading


def load_language(data: str, language: str) -> dict:
    """The <language>.json dict from a data wheel (zip) or a folder of <lang>.json files."""
    path = Path(data)
    if path.is_dir():
        for candidate in (path / f"{language}.json", path / "home_assistant_intents" / "data" / f"{language}.json"):
            if candidate.is_file():
                return json.loads(candidate.read_text(encoding="utf-8"))
        sys.exit(f"oracle: no {language}.json in {path}")
    member = f"home_assistant_intents/data/{language}.json"
    try:
        with zipfile.ZipFile(path) as wheel:
            return json.loads(wheel.read(member).decode("utf-8"))
    except (OSError, zipfile.BadZipFile) as err:
        sys.exit(f"oracle: cannot read {path}: {err}")
    except KeyError:
        sys.exit(f"oracle: {path} has no {member} (language not in this data?)")


def localized(item: dict, language: str) -> tuple[str, list[str]]:
    """(name, aliases) of a floor/area/entity; the "de" names when the language is German."""
    if language == "de" and item.get("de"):
        return item["de"]["name"], list(item["de"].get("aliases", []))
    return item["name"], list(item.get("aliases", []))


class Home:
    """The fixture home, in the names of one language."""

    def __init__(self, home: dict, language: str, ha_exact: bool):
        area_names = {a["name"]: localized(a, language)[0] for a in home["areas"]}

        # (text in, value out, context) like HA's _get_entity_name_tuples.
        self.name_tuples = []
        for entity in home["entities"]:
            name, aliases = localized(entity, language)
            context = {"domain": entity["domain"]}
            if entity.get("device_class"):
                context["device_class"] = entity["device_class"]
            if entity.get("area") and not ha_exact:
                context["area"] = area_names[entity["area"]]
            for alias in aliases:
                if alias.strip():
                    self.name_tuples.append((alias, alias if ha_exact else name, context))
            self.name_tuples.append((name, name, context))

        self.area_tuples = []
        self.areas = []  # area names, for the satellite's context
        for area in home["areas"]:
            name, aliases = localized(area, language)
            self.areas.append(name)
            self.area_tuples.append((name, name))
            self.area_tuples += [(a, a if ha_exact else name) for a in aliases if a.strip()]

        self.floor_tuples = []
        for floor in home["floors"]:
            name, aliases = localized(floor, language)
            self.floor_tuples.append((name, name))
            self.floor_tuples += [(a, name) for a in aliases if a.strip()]

    def slot_lists(self) -> dict:
        return {
            "name": TextSlotList.from_tuples(self.name_tuples, allow_template=False, name="name"),
            "area": TextSlotList.from_tuples(self.area_tuples, allow_template=False, name="area"),
            "floor": TextSlotList.from_tuples(self.floor_tuples, allow_template=False, name="floor"),
        }


# ---------------------------------------------------------------------------------------
# Sampling
#
# Expanding a template fully is hopeless ({name} x {area} x every alternative), and taking
# the first expansions of hassil's sampler only ever varies the last words. So each draw
# first prunes the template at random: one item of every alternative, rules inlined, and
# every list narrowed to one random value (a range to one number, as digits; a wildcard to
# a fixed filler). hassil's sample_expression then turns the pruned template into text
# (it yields more than one only for a permutation's orders; one is picked at random).
# A list value is picked among those whose context passes the block's requires_context and
# excludes_context, the check hassil's matcher makes (so "turn on {name}" in a light block
# names a light), except in UNCONSTRAINED_SHARE of the draws or when no value passes.


class Unsampleable(Exception):
    """A template refers to a list or rule that does not exist (or cannot be drawn from)."""


class Draw:
    """What one draw needs: the block's rules, lists and context filter, and the picks."""

    def __init__(self, rules, lists, data, rng):
        self.rules, self.lists, self.rng = rules, lists, rng
        constrained = rng.random() >= UNCONSTRAINED_SHARE
        self.requires = data.requires_context if constrained else {}
        self.excludes = data.excludes_context if constrained else {}
        self.picked = {}  # list name -> one-value TextSlotList


def prune(expr, d: Draw):
    """A copy of expr with one random choice per alternative; fills d.picked once a list."""
    if isinstance(expr, TextChunk):
        return expr
    if isinstance(expr, Alternative):
        return prune(d.rng.choice(expr.items), d)
    if isinstance(expr, Permutation):
        return Permutation(items=[prune(i, d) for i in expr.items])
    if isinstance(expr, Sequence):
        return Sequence(items=[prune(i, d) for i in expr.items])
    if isinstance(expr, RuleReference):
        if expr.rule_name not in d.rules:
            raise Unsampleable(f"missing rule <{expr.rule_name}>")
        return prune(d.rules[expr.rule_name].expression, d)
    if isinstance(expr, ListReference):
        if expr.list_name not in d.picked:
            d.picked[expr.list_name] = pick_value(expr, d)
        return expr
    raise Unsampleable(f"unexpected expression {type(expr).__name__}")


def fits(value: TextSlotValue, d: Draw) -> bool:
    """True if the matcher would try this list value in the draw's block."""
    if d.requires and not check_required_context(d.requires, value.context, allow_missing_keys=True):
        return False
    return not (d.excludes and not check_excluded_context(d.excludes, value.context))


def pick_value(ref, d: Draw) -> TextSlotList:
    """A one-value slot list standing in for ref's list in this draw."""
    rng = d.rng
    slot_list = d.lists.get(ref.list_name)
    if slot_list is None and ref.is_inline_range:
        start, stop, step = ref.get_inline_range()
        slot_list = RangeSlotList(name=ref.list_name, start=start, stop=stop, step=step)
    if slot_list is None:
        raise Unsampleable(f"missing list {{{ref.list_name}}}")
    if isinstance(slot_list, TextSlotList):
        values = [v for v in slot_list.values if not (isinstance(v.text_in, TextChunk) and not v.text_in.text.strip())]
        if not values:
            raise Unsampleable(f"empty list {{{ref.list_name}}}")
        value = rng.choice([v for v in values if fits(v, d)] or values)
        text_in = prune(value.text_in, d)
        return TextSlotList(name=ref.list_name, values=[TextSlotValue(text_in, value.value_out)])
    if isinstance(slot_list, RangeSlotList):
        # Digits only, the way hassil's sampler writes them (str of int or float).
        number = rng.choice(list(slot_list.get_numbers()))
        return TextSlotList.from_strings([str(number)], allow_template=False, name=ref.list_name)
    if isinstance(slot_list, WildcardSlotList):
        fill = rng.choice(WILDCARD_FILL.get(ref.list_name, WILDCARD_DEFAULT))
        return TextSlotList.from_strings([fill], allow_template=False, name=ref.list_name)
    raise Unsampleable(f"list {{{ref.list_name}}} of type {type(slot_list).__name__}")


def draw(sentence, rules, lists, data, rng) -> str:
    """One random sentence from a template of the block data."""
    d = Draw(rules, lists, data, rng)
    pruned = prune(sentence.expression, d)
    texts = list(sample_expression(pruned, d.picked, rules, expand_lists=True, expand_ranges=True))
    return rng.choice(texts).strip()


def sample(intents: Intents, lists: dict, count: int, per_template: int, seed: int):
    """[(intent, text)]: up to per_template distinct sentences per template, then count of
    them drawn round-robin over all templates in a seeded order, no text twice."""
    lists = {**intents.slot_lists, **lists}
    pools = []  # (intent name, [texts]) per template
    failed = Counter()
    for intent_name, intent in intents.intents.items():
        for block_index, data in enumerate(intent.data):
            rules = {**intents.expansion_rules, **data.expansion_rules}
            block_lists = {**lists, **data.slot_lists}
            for index, sentence in enumerate(data.sentences):
                # Seeded per template, so one template's draws never shift another's.
                rng = random.Random(f"{seed}:{intent_name}:{block_index}:{index}")
                texts = []
                try:
                    for _ in range(4 * per_template):
                        text = draw(sentence, rules, block_lists, data, rng)
                        if text and text not in texts:
                            texts.append(text)
                            if len(texts) >= per_template:
                                break
                except (Unsampleable, MissingListError, MissingRuleError, RecursionError) as err:
                    failed[f"{intent_name}: {type(err).__name__}: {err}"] += 1
                    continue
                if texts:
                    pools.append((intent_name, texts))
                else:
                    failed[f"{intent_name}: no text"] += 1

    rng = random.Random(f"{seed}:pick")
    rng.shuffle(pools)
    chosen, seen = [], set()
    while len(chosen) < count and pools:
        remaining = []
        for intent_name, texts in pools:
            while texts and texts[0] in seen:
                texts.pop(0)
            if not texts or len(chosen) >= count:
                continue
            text = texts.pop(0)
            seen.add(text)
            chosen.append((intent_name, text))
            if texts:
                remaining.append((intent_name, texts))
        pools = remaining
    return chosen, failed


# ---------------------------------------------------------------------------------------
# Recognition (module globals so that forked workers share them)

INTENTS: Intents
SLOT_LISTS: dict
LANGUAGE: str
NAME_TRIE = None  # --ha-exact: lower-cased name -> TextSlotValue, as HA's _exposed_names_trie


def recognize(job):
    """job = (text, sampled intent, context area) -> the output line as a dict."""
    text, sampled, area = job
    context = {"area": {"value": area, "text": area}} if area else None
    slot_lists = SLOT_LISTS
    if NAME_TRIE is not None:
        found = [value for _end, _text, value in NAME_TRIE.find(text.strip().lower())]
        slot_lists = {**SLOT_LISTS, "name": TextSlotList(name="name", values=found)}
    result = recognize_best(
        text,
        INTENTS,
        slot_lists=slot_lists,
        intent_context=context,
        language=LANGUAGE,
        best_metadata_key=METADATA_CUSTOM_SENTENCE,
        best_slot_name="name",
    )
    out = None
    if result is not None:
        slots = {}
        for name in sorted(result.entities):
            entity = result.entities[name]
            value = entity.value
            if entity.is_wildcard and isinstance(value, str):
                value = value.strip()
            slots[name] = value
        out = {"intent": result.intent.name, "slots": slots, "response": result.response}
    return {"text": text, "sampled_intent": sampled, "context_area": area, "result": out}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="home-assistant-intents wheel, or a folder of <lang>.json")
    parser.add_argument("--language", required=True)
    parser.add_argument("--home", required=True, help="fixture home (home.json)")
    parser.add_argument("--out", required=True, help="output .jsonl")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-template", type=int, help="distinct sentences drawn per template (default: 2 N / templates, at least 3)")
    parser.add_argument("--texts", help="recognize these lines (TEXT or TEXT<TAB>AREA) instead of sampling")
    parser.add_argument("--jobs", type=int, default=1, choices=(1, 2), help="recognizer processes (the machine has 2 cores)")
    parser.add_argument("--ha-exact", action="store_true", help="HA's literal alias values and name-list filter (see the top of this file)")
    args = parser.parse_args()

    # hassil logs a warning per empty list and the like; the summary says what matters.
    logging.basicConfig(level=logging.ERROR)
    started = time.monotonic()

    global INTENTS, SLOT_LISTS, LANGUAGE, NAME_TRIE
    LANGUAGE = args.language
    INTENTS = Intents.from_dict(load_language(args.data, args.language))
    home = Home(json.loads(Path(args.home).read_text(encoding="utf-8")), args.language, args.ha_exact)
    SLOT_LISTS = home.slot_lists()
    if args.ha_exact:
        NAME_TRIE = Trie()
        for value in SLOT_LISTS["name"].values:
            NAME_TRIE.insert(value.text_in.text.strip().lower(), value)

    failed = Counter()
    if args.texts:
        jobs = []
        for line in Path(args.texts).read_text(encoding="utf-8").splitlines():
            text, _, area = line.partition("\t")
            if text.strip():
                jobs.append((text, None, area.strip() or None))
    else:
        templates = sum(len(d.sentences) for i in INTENTS.intents.values() for d in i.data)
        per_template = args.per_template or max(3, math.ceil(2 * args.count / max(templates, 1)))
        chosen, failed = sample(INTENTS, SLOT_LISTS, args.count, per_template, args.seed)
        rng = random.Random(f"{args.seed}:context")
        jobs = [(text, intent, rng.choice(home.areas) if rng.random() < CONTEXT_SHARE else None) for intent, text in chosen]
        if len(jobs) < args.count:
            print(f"oracle: only {len(jobs)} distinct sentences could be sampled (asked for {args.count})", file=sys.stderr)
    sampled_at = time.monotonic()

    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            lines = list(pool.imap(recognize, jobs, chunksize=64))
    else:
        lines = [recognize(job) for job in jobs]
    done_at = time.monotonic()

    with open(args.out, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")

    summarize(lines, failed, sampled_at - started, done_at - sampled_at)


def summarize(lines, failed, sample_seconds, recognize_seconds):
    """Per-intent counts and timings, on stderr."""
    err = sys.stderr
    if failed:
        print(f"oracle: {sum(failed.values())} template(s) could not be sampled:", file=err)
        for reason, n in sorted(failed.items()):
            print(f"  {n:4d}  {reason}", file=err)
    per_intent = {}
    for line in lines:
        row = per_intent.setdefault(line["sampled_intent"] or "(texts)", [0, 0, 0])
        row[0] += 1
        if line["result"]:
            row[1] += 1
            if line["sampled_intent"] and line["result"]["intent"] != line["sampled_intent"]:
                row[2] += 1
    print(f"{'sampled intent':32} {'sentences':>9} {'recognized':>10} {'other intent':>12}", file=err)
    for intent, (n, hit, other) in sorted(per_intent.items()):
        print(f"{intent:32} {n:9d} {hit:10d} {other:12d}", file=err)
    n = len(lines)
    hit = sum(r[1] for r in per_intent.values())
    other = sum(r[2] for r in per_intent.values())
    print(f"{'total':32} {n:9d} {hit:10d} {other:12d}", file=err)
    as_sampled = "" if "(texts)" in per_intent else f", as the sampled intent {hit - other}"
    print(f"oracle: recognized {hit}/{n} ({100 * hit / max(n, 1):.1f} %){as_sampled}; "
          f"sampling {sample_seconds:.1f} s, recognition {recognize_seconds:.1f} s", file=err)


if __name__ == "__main__":
    main()
