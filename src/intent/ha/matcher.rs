//! Matching a sentence against compiled templates, and choosing among the matches.
//!
//! The text is prepared once (punctuation at word edges dropped, hyphens as spaces, lower
//! case beside the original spelling), in up to four forms: as said, and without skip words
//! everywhere, at the start only, or at the end only (for templates that end or start with a
//! wildcard). Each template is then walked depth first with a continuation: every way a node
//! can match from a position calls the rest of the template from where it ended, so
//! alternatives, optional words, permutations, list values and wildcard lengths are all tried,
//! in template order. A walk that ends at the end of the text is a match; its context rules
//! are checked, its fixed and context slots added.
//!
//! Ranking follows Assist's choice (hassil's `recognize_best` with `best_slot_name = "name"`):
//! a match that names an entity beats one that does not, a longer name beats a shorter one;
//! then fewer wildcards, more literal template text, less wildcard text, the intent name, and
//! finally the order the data lists them in.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::{IntentData, LanguageGrammar, Node, Piece, RangeList, SlotList, fold_char};

/// A slot filled by a match.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// The slot (`name`, `area`, `brightness`, ...).
    pub slot: String,
    /// The value reported: the list's out value, the number, or the text said.
    pub value: Value,
    /// The text it was matched from (empty for fixed and context slots).
    pub text: String,
    /// Whether a wildcard list filled it.
    pub wildcard: bool,
}

/// A recognised intent.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    /// The intent (`HassTurnOn`, ...).
    pub intent: String,
    /// Slot values by slot name.
    pub slots: BTreeMap<String, Value>,
    /// Every filled slot in order, with the text it came from.
    pub entities: Vec<Entity>,
    /// The response key of the intent data that matched.
    pub response: Option<String>,
    /// Characters of literal template text matched (for ranking).
    pub literal: usize,
    /// Letters changed to match names heard slightly wrong (0 in the exact pass).
    pub edits: usize,
}

impl Recognition {
    fn wildcards(&self) -> (usize, usize) {
        self.entities.iter().filter(|e| e.wildcard).fold((0, 0), |(n, len), e| (n + 1, len + e.text.chars().count()))
    }
}

/// Characters hassil strips at the edges of words (and the period).
const PUNCTUATION: &str = ".。,，?¿？؟!¡！;；:：’…—–―\"“”„«»";

/// The text as matched: the original spelling and the folded one, position for position.
struct Prepared {
    orig: Vec<char>,
    low: Vec<char>,
}

impl Prepared {
    fn new(words: &[String]) -> Prepared {
        let orig: Vec<char> = words.join(" ").chars().collect();
        let low = orig.iter().flat_map(|&c| fold_char(c)).collect();
        Prepared { orig, low }
    }
}

/// Words of the text with punctuation at their edges removed and hyphens as spaces.
fn words_of(text: &str) -> Vec<String> {
    text.replace(['-', '_'], " ")
        .replace('’', "'")
        .split_whitespace()
        .map(|w| w.trim_matches(|c| PUNCTUATION.contains(c)).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Where skip words are removed.
#[derive(Clone, Copy, PartialEq)]
enum Skip {
    Everywhere,
    Start,
    End,
}

/// `words` without skip words (whole words only, longest first).
fn without_skip_words(words: &[String], skip: &[Vec<char>], how: Skip) -> Vec<String> {
    let folded: Vec<Vec<char>> = words.iter().map(|w| w.chars().flat_map(fold_char).collect()).collect();
    // A skip word is a phrase of one or more words.
    let phrase_at = |i: usize| -> Option<usize> {
        skip.iter().find_map(|s| {
            let parts: Vec<&[char]> = s.split(|c| *c == ' ').filter(|p| !p.is_empty()).collect();
            (i + parts.len() <= folded.len() && parts.iter().enumerate().all(|(k, p)| folded[i + k] == *p))
                .then_some(parts.len())
        })
    };
    let mut keep = vec![true; words.len()];
    match how {
        Skip::Everywhere => {
            let mut i = 0;
            while i < words.len() {
                match phrase_at(i) {
                    Some(n) => {
                        keep[i..i + n].iter_mut().for_each(|k| *k = false);
                        i += n;
                    }
                    None => i += 1,
                }
            }
        }
        Skip::Start => {
            let mut i = 0;
            while let Some(n) = phrase_at(i) {
                keep[i..i + n].iter_mut().for_each(|k| *k = false);
                i += n;
            }
        }
        Skip::End => {
            let mut end = words.len();
            'outer: while end > 0 {
                for start in (0..end).rev() {
                    if phrase_at(start) == Some(end - start) {
                        keep[start..end].iter_mut().for_each(|k| *k = false);
                        end = start;
                        continue 'outer;
                    }
                }
                break;
            }
        }
    }
    words.iter().zip(keep).filter(|(_, k)| *k).map(|(w, _)| w.clone()).collect()
}

/// What a walk has gathered so far.
struct State {
    entities: Vec<Entity>,
    /// Context from matched list values, later entries winning.
    overlay: Vec<(String, Value)>,
    literal: usize,
    edits: usize,
    /// Whether the next text starts a word: true at the start and after literal text that
    /// ends in a space or an apostrophe; a list value leaves it as it was. Where it is true,
    /// the space before the next literal is optional, as in hassil ("{area} deuren" takes
    /// "garagedeuren", "{area} licht" takes "Küchenlicht").
    after_word: bool,
}

impl Default for State {
    fn default() -> State {
        State { entities: Vec::new(), overlay: Vec::new(), literal: 0, edits: 0, after_word: true }
    }
}

type Next<'k> = &'k mut dyn FnMut(usize, &mut State);

struct Walk<'a> {
    g: &'a LanguageGrammar,
    data: &'a IntentData,
    home: &'a HashMap<String, SlotList>,
    text: &'a Prepared,
    /// Whether names may match with a small mishearing.
    lenient: bool,
}

/// Edits allowed in one word of a name: none in short words, where one letter makes another
/// word ("lamp"/"lump"), one from 5 letters, two from 9.
fn allowed_edits(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

impl Walk<'_> {
    fn list(&self, name: &str) -> Option<&SlotList> {
        self.data.lists.get(name).or_else(|| self.home.get(name)).or_else(|| self.g.lists.get(name))
    }

    fn len(&self) -> usize {
        self.text.low.len()
    }

    /// A word gap at `p`: a space consumed, or nothing where a word starts or ends anyway.
    fn gap(&self, p: usize) -> Option<usize> {
        let low = &self.text.low;
        if p < low.len() && low[p] == ' ' {
            Some(p + 1)
        } else if p == 0 || p == low.len() || low[p - 1] == ' ' {
            Some(p)
        } else {
            None
        }
    }

    fn node(&self, node: &Node, p: usize, st: &mut State, next: Next) {
        match node {
            Node::Lit { pieces, count, ends_word } => {
                let mut q = p;
                let mut pieces = pieces.as_slice();
                if st.after_word {
                    if q < self.len() && self.text.low[q] == ' ' {
                        q += 1;
                    }
                    while let [Piece::Gap, rest @ ..] = pieces {
                        pieces = rest;
                    }
                }
                for piece in pieces {
                    match piece {
                        Piece::Chars(cs) => {
                            if !self.text.low[q..].starts_with(cs) {
                                return;
                            }
                            q += cs.len();
                        }
                        Piece::Gap => match self.gap(q) {
                            Some(r) => q = r,
                            None => return,
                        },
                    }
                }
                st.literal += count;
                let after_word = std::mem::replace(&mut st.after_word, *ends_word);
                next(q, st);
                st.after_word = after_word;
                st.literal -= count;
            }
            Node::Seq(items) => self.seq(items, p, st, next),
            Node::Alt(items) => {
                for item in items {
                    self.node(item, p, st, next);
                }
            }
            Node::Perm(items) => self.perm(items, 0, p, st, next),
            Node::List { list, slot } => match self.list(list) {
                Some(SlotList::Text(values)) => self.text_list(values, slot, p, st, next),
                Some(SlotList::Range(range)) => self.range(range, slot, p, st, next),
                Some(SlotList::Wildcard) => self.wildcard(slot, p, st, next),
                None => {}
            },
            Node::Range { range, slot } => self.range(range, slot, p, st, next),
        }
    }

    fn seq(&self, items: &[Node], p: usize, st: &mut State, next: Next) {
        match items.split_first() {
            None => next(p, st),
            Some((first, rest)) => self.node(first, p, st, &mut |q, st| self.seq(rest, q, st, next)),
        }
    }

    /// Every item once in any order (`used` is a bit set), with word gaps between.
    fn perm(&self, items: &[Node], used: u64, p: usize, st: &mut State, next: Next) {
        if used.count_ones() as usize == items.len() {
            return next(p, st);
        }
        for (i, item) in items.iter().enumerate().take(64) {
            if used & (1 << i) != 0 {
                continue;
            }
            // Items are separated by spaces, so each starts a word.
            let start = if used == 0 { Some(p) } else { self.gap(p) };
            if let Some(start) = start {
                let starts_word = used != 0 || st.after_word;
                let after_word = std::mem::replace(&mut st.after_word, starts_word);
                self.node(item, start, st, &mut |q, st| self.perm(items, used | (1 << i), q, st, next));
                st.after_word = after_word;
            }
        }
    }

    /// Where a value may start: a leading space is not part of it.
    fn value_start(&self, p: usize) -> usize {
        if p < self.len() && self.text.low[p] == ' ' { p + 1 } else { p }
    }

    fn said(&self, from: usize, to: usize) -> String {
        self.text.orig[from..to].iter().collect::<String>().trim().to_string()
    }

    fn text_list(&self, list: &super::TextList, slot: &str, p: usize, st: &mut State, next: Next) {
        let p = self.value_start(p);
        if p >= self.len() {
            return;
        }
        // A misheard name still starts with the right letter, so the index serves both walks.
        for value in list.candidates(self.text.low[p]) {
            if !value.context.is_empty()
                && (!required_ok(&self.data.requires, &value.context, true)
                    || !excluded_ok(&self.data.excludes, &value.context))
            {
                continue;
            }
            if self.lenient
                && let Some(words) = &value.words
            {
                self.misheard(value, words, slot, p, st, next);
            }
            // Literal text inside a value does not count as template text, nor does it
            // change where words start.
            let outer = st.literal;
            let outer_word = st.after_word;
            self.node(&value.input, p, st, &mut |q, st| {
                let text = self.said(p, q);
                if text.is_empty() {
                    return;
                }
                let inner = std::mem::replace(&mut st.literal, outer);
                let inner_word = std::mem::replace(&mut st.after_word, outer_word);
                bind(value, slot, text, q, st, next);
                st.literal = inner;
                st.after_word = inner_word;
            });
        }
    }

    /// A name heard with small mistakes: as many words as the name (or the name's words run
    /// together as one), each starting with the same letter and within [`allowed_edits`].
    /// Exact spellings are left to the exact walk.
    fn misheard(
        &self,
        value: &super::TextValue,
        words: &[Vec<char>],
        slot: &str,
        p: usize,
        st: &mut State,
        next: Next,
    ) {
        let low = &self.text.low;
        let word_end = |from: usize| (from..low.len()).find(|&i| low[i] == ' ').unwrap_or(low.len());
        let close = |heard: &[char], name: &[char]| -> Option<usize> {
            if heard.first() != name.first() {
                return None;
            }
            crate::measure::edit_distance_within(heard, name, allowed_edits(name.len()))
        };
        let mut tries: Vec<(usize, usize)> = Vec::new();
        // Word by word.
        let mut q = p;
        let mut edits = 0;
        let mut ok = true;
        for (k, w) in words.iter().enumerate() {
            if k > 0 {
                if q >= low.len() || low[q] != ' ' {
                    ok = false;
                    break;
                }
                q += 1;
            }
            let end = word_end(q);
            match close(&low[q..end], w) {
                Some(d) => edits += d,
                None => {
                    ok = false;
                    break;
                }
            }
            q = end;
        }
        if ok && edits > 0 {
            tries.push((q, edits));
        }
        // The name's words heard as one ("kitchenlight"), or one word heard as two is left out.
        if words.len() > 1 {
            let joined: Vec<char> = words.concat();
            let end = word_end(p);
            if let Some(d) = close(&low[p..end], &joined) {
                tries.push((end, d.max(1)));
            }
        }
        for (q, edits) in tries {
            st.edits += edits;
            bind(value, slot, self.said(p, q), q, st, next);
            st.edits -= edits;
        }
    }

    fn range(&self, range: &RangeList, slot: &str, p: usize, st: &mut State, next: Next) {
        let p = self.value_start(p);
        let low = &self.text.low;
        let mut q = p;
        if q < low.len() && low[q] == '-' {
            q += 1;
        }
        let digits_from = q;
        while q < low.len() && low[q].is_ascii_digit() {
            q += 1;
        }
        if q == digits_from || !range.digits {
            return;
        }
        let mut ends = vec![q];
        if range.fractions != super::Fractions::None
            && q + 1 < low.len()
            && matches!(low[q], '.' | ',')
            && low[q + 1].is_ascii_digit()
        {
            let mut r = q + 1;
            while r < low.len() && low[r].is_ascii_digit() {
                r += 1;
            }
            ends.insert(0, r);
        }
        for end in ends {
            let text: String = low[p..end].iter().collect();
            let Ok(number) = text.replace(',', ".").parse::<f64>() else { continue };
            if !range.contains(number) {
                continue;
            }
            let value = number * range.multiplier.unwrap_or(1.0);
            let json = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
            st.entities.push(Entity { slot: slot.to_string(), value: json, text, wildcard: false });
            next(end, st);
            st.entities.pop();
            // The longest number is the one hassil reads; a shorter reading of the same digits
            // ("21" of "21.5") is not a number there.
            break;
        }
    }

    fn wildcard(&self, slot: &str, p: usize, st: &mut State, next: Next) {
        let p = self.value_start(p);
        let low = &self.text.low;
        // Any end, not only word ends: hassil ends a wildcard wherever the next text starts
        // ("{search_query}podcast" takes "jazz" from "jazzpodcast").
        for q in p + 1..=low.len() {
            let text = self.said(p, q);
            if text.is_empty() {
                continue;
            }
            st.entities.push(Entity {
                slot: slot.to_string(),
                value: Value::String(text.clone()),
                text,
                wildcard: true,
            });
            next(q, st);
            st.entities.pop();
        }
    }
}

/// Fills `slot` with a matched list value (its out value, or the text said), merges its
/// context, goes on from `q`, and takes both back.
fn bind(value: &super::TextValue, slot: &str, text: String, q: usize, st: &mut State, next: Next) {
    let reported = value.out.clone().unwrap_or_else(|| Value::String(text.clone()));
    st.entities.push(Entity { slot: slot.to_string(), value: reported, text, wildcard: false });
    let pushed = value.context.len();
    st.overlay.extend(value.context.iter().map(|(k, v)| (k.clone(), v.clone())));
    next(q, st);
    st.overlay.truncate(st.overlay.len() - pushed);
    st.entities.pop();
}

/// The value of a context entry: `{"value": v, ...}` or `v`.
fn unpack(v: &Value) -> &Value {
    match v {
        Value::Object(m) => m.get("value").unwrap_or(&Value::Null),
        other => other,
    }
}

/// Whether `actual` satisfies the required `wanted` (`null`: anything; a list: one of them).
fn satisfies(wanted: &Value, actual: &Value) -> bool {
    match wanted {
        Value::Null => !actual.is_null(),
        Value::Array(options) => options.contains(actual),
        w => w == actual,
    }
}

/// `requires_context` against a context; with `missing_ok`, keys the context lacks pass.
fn required_ok(required: &Map<String, Value>, context: &Map<String, Value>, missing_ok: bool) -> bool {
    required.iter().all(|(key, wanted)| match context.get(key) {
        None => missing_ok,
        Some(actual) => {
            let wanted = unpack(wanted);
            match wanted {
                Value::Null => true,
                w => satisfies(w, unpack(actual)),
            }
        }
    })
}

/// `excludes_context` against a context.
fn excluded_ok(excluded: &Map<String, Value>, context: &Map<String, Value>) -> bool {
    excluded.iter().all(|(key, banned)| match context.get(key) {
        None => true,
        Some(actual) => {
            let actual = unpack(actual);
            match unpack(banned) {
                Value::Array(options) => !options.contains(actual),
                b => b != actual,
            }
        }
    })
}

impl LanguageGrammar {
    /// Every match of `text`, in the order the data lists its templates. `home` holds the
    /// caller's lists (`name`, `area`, `floor`, ...), `context` the satellite's
    /// (`{"area": {"value": "Kitchen", "text": "Kitchen"}}`).
    pub fn recognize_all(
        &self,
        text: &str,
        home: &HashMap<String, SlotList>,
        context: &Map<String, Value>,
        lenient: bool,
    ) -> Vec<Recognition> {
        let words = words_of(text);
        let as_said = Prepared::new(&words);
        let variant = |how| {
            let w = without_skip_words(&words, &self.skip_words, how);
            (w != words).then(|| Prepared::new(&w))
        };
        let no_skip = variant(Skip::Everywhere);
        let folded: String = as_said.low.iter().collect();
        let (at_start, at_end) = (variant(Skip::Start), variant(Skip::End));
        let mut found = Vec::new();
        for data in &self.data {
            if !context.is_empty()
                && (!required_ok(&data.requires, context, true) || !excluded_ok(&data.excludes, context))
            {
                continue;
            }
            for ((sentence, &(starts, ends)), required) in
                data.sentences.iter().zip(&data.wildcard_ends).zip(&data.required)
            {
                if !required.iter().all(|clause| clause.iter().any(|f| folded.contains(f.as_str()))) {
                    continue;
                }
                // Which texts to try: skip words stay where a wildcard may take them; where
                // removing them changed the text, the text as said is tried first.
                let mut texts: Vec<&Prepared> = Vec::with_capacity(2);
                match (starts, ends) {
                    (true, true) => texts.push(&as_said),
                    (true, false) => texts.push(at_end.as_ref().unwrap_or(&as_said)),
                    (false, true) => texts.push(at_start.as_ref().unwrap_or(&as_said)),
                    (false, false) => {
                        texts.push(&as_said);
                        if let Some(n) = &no_skip {
                            texts.push(n);
                        }
                    }
                }
                for prepared in texts {
                    let walk = Walk { g: self, data, home, text: prepared, lenient };
                    let mut st = State::default();
                    walk.node(sentence, 0, &mut st, &mut |q, st| {
                        if q == prepared.low.len()
                            && let Some(r) = self.finish(data, context, st)
                        {
                            found.push(r);
                        }
                    });
                }
            }
        }
        found
    }

    /// The best match of `text` (see the module docs for the ranking), or `None`.
    pub fn recognize_best(
        &self,
        text: &str,
        home: &HashMap<String, SlotList>,
        context: &Map<String, Value>,
    ) -> Option<Recognition> {
        self.best_of(self.recognize_all(text, home, context, false))
    }

    /// Like [`LanguageGrammar::recognize_best`], but names of the home ([`super::TextValue::name`])
    /// may also be heard slightly wrong: of the readings with at least one such name, those with
    /// the fewest changed letters are ranked as usual; two different names equally close give
    /// `None`.
    pub fn recognize_lenient(
        &self,
        text: &str,
        home: &HashMap<String, SlotList>,
        context: &Map<String, Value>,
    ) -> Option<Recognition> {
        // Readings without a misheard name are the exact pass's.
        let all: Vec<Recognition> =
            self.recognize_all(text, home, context, true).into_iter().filter(|r| r.edits > 0).collect();
        let fewest = all.iter().map(|r| r.edits).min()?;
        let mut closest: Vec<Recognition> = all.into_iter().filter(|r| r.edits == fewest).collect();
        // As in the exact ranking, the longest name said wins ("ceileng light" is the Ceiling
        // Light, not the Ceiling and the word "light").
        let name_len = |r: &Recognition| {
            r.entities.iter().rev().find(|e| e.slot == "name" && !e.wildcard).map(|e| e.text.chars().count())
        };
        if let Some(longest) = closest.iter().filter_map(name_len).max() {
            closest.retain(|r| name_len(r) == Some(longest));
        }
        // Two different names equally close to what was heard: which one is meant is unknown.
        let names = |r: &Recognition| r.slots.get("name").cloned();
        let first = names(&closest[0]);
        if closest.iter().any(|r| names(r).is_some() && first.is_some() && names(r) != first) {
            return None;
        }
        self.best_of(closest)
    }

    fn best_of(&self, found: Vec<Recognition>) -> Option<Recognition> {
        let mut best: Vec<Recognition> = Vec::new();
        let mut named = false;
        let mut best_name_len: Option<usize> = None;
        for r in found {
            // The slot as hassil's result dict has it: the last entity of that name.
            let name = r.entities.iter().rev().find(|e| e.slot == "name");
            let has_name = name.is_some_and(|e| !e.wildcard);
            if named && !has_name {
                continue;
            }
            if has_name && !named {
                named = true;
                best.clear();
            }
            if let Some(entity) = name.filter(|e| !e.wildcard && e.value.is_string()) {
                let len = entity.text.chars().count();
                match best_name_len {
                    Some(b) if len < b => continue,
                    Some(b) if len == b => {}
                    _ => {
                        best_name_len = Some(len);
                        best.clear();
                    }
                }
            }
            best.push(r);
        }
        // A stable sort: among equals the first in data order stays first.
        best.sort_by(|a, b| {
            let (aw, al) = a.wildcards();
            let (bw, bl) = b.wildcards();
            aw.cmp(&bw).then(b.literal.cmp(&a.literal)).then(al.cmp(&bl)).then(a.intent.cmp(&b.intent))
        });
        best.into_iter().next()
    }

    /// Checks a complete walk's context rules and adds fixed and context slots.
    fn finish(&self, data: &IntentData, context: &Map<String, Value>, st: &State) -> Option<Recognition> {
        let mut merged = context.clone();
        for (k, v) in &st.overlay {
            merged.insert(k.clone(), v.clone());
        }
        if !excluded_ok(&data.excludes, &merged) {
            return None;
        }
        let mut entities = st.entities.clone();
        let mut from_context = Vec::new();
        for (key, wanted) in &data.requires {
            let (wanted, copy_to) = match wanted {
                Value::Object(m) => {
                    let slot = match m.get("slot") {
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(Value::Bool(true)) => Some(key.clone()),
                        _ => None,
                    };
                    (m.get("value").cloned().unwrap_or(Value::Null), slot)
                }
                other => (other.clone(), None),
            };
            let actual = merged.get(key);
            let (value, text) = match actual {
                Some(Value::Object(m)) => (
                    m.get("value").cloned().unwrap_or(Value::Null),
                    m.get("text").and_then(Value::as_str).unwrap_or_default().to_string(),
                ),
                Some(v) => (v.clone(), String::new()),
                None => (Value::Null, String::new()),
            };
            if !satisfies(&wanted, &value) {
                return None;
            }
            if let Some(slot) = copy_to {
                from_context.push(Entity { slot, value, text, wildcard: false });
            }
        }
        let said: Vec<String> = entities.iter().map(|e| e.slot.clone()).collect();
        for (slot, value) in &data.slots {
            if !said.contains(slot) {
                entities.push(Entity {
                    slot: slot.clone(),
                    value: value.clone(),
                    text: String::new(),
                    wildcard: false,
                });
            }
        }
        for e in from_context {
            if !said.contains(&e.slot) {
                entities.push(e);
            }
        }
        let slots = entities.iter().map(|e| (e.slot.clone(), e.value.clone())).collect();
        Some(Recognition {
            intent: self.intents[data.intent].clone(),
            slots,
            entities,
            response: data.response.clone(),
            literal: st.literal,
            edits: st.edits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        words_of(text)
    }

    #[test]
    fn punctuation_at_word_edges_goes_hyphens_become_gaps() {
        assert_eq!(words("Turn on the kitchen-light, please!"), ["Turn", "on", "the", "kitchen", "light", "please"]);
        assert_eq!(words("set it to 21.5."), ["set", "it", "to", "21.5"]);
        assert_eq!(words("what’s up?"), ["what's", "up"]);
    }

    #[test]
    fn skip_words_go_everywhere_or_only_at_one_end() {
        let skip: Vec<Vec<char>> = vec!["can you".chars().collect(), "please".chars().collect()];
        let w = words("can you please turn on the light please");
        assert_eq!(without_skip_words(&w, &skip, Skip::Everywhere), ["turn", "on", "the", "light"]);
        assert_eq!(without_skip_words(&w, &skip, Skip::Start), ["turn", "on", "the", "light", "please"]);
        assert_eq!(without_skip_words(&w, &skip, Skip::End), ["can", "you", "please", "turn", "on", "the", "light"]);
    }
}
