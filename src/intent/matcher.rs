//! Matching a normalised transcript against every compiled template of a [`Grammar`]:
//! a depth-first walk of each template's program over the tokens. Literal words must match
//! exactly; `{name}` and `{area}` try each span of tokens that the template lets end there and
//! compare it with the registry's names ([`fuzzy::similarity`]), remembering every span's
//! candidates so all templates share the work. Every complete match becomes a [`Parse`]
//! with the product of its slot scores; choosing among them is the caller's business.

use std::collections::HashMap;

use crate::home::{EntityRegistry, Spelled, fold};

use super::SlotValue;
use super::fuzzy;
use super::grammar::{Grammar, SlotKind};
use super::normalize::Normalized;
use super::template::{Inst, Lookahead, UNKNOWN_WORD};

/// Longest name or area, in tokens.
const MAX_NAME_TOKENS: usize = 8;
/// Work limit per transcript (program steps), against pathological templates.
const STEP_LIMIT: usize = 200_000;

/// An entity a name may stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Its position in the registry.
    pub index: usize,
    /// The name is its derived name (without its area): valid only when that area is meant.
    pub derived: bool,
    /// The name is written with invisible or look-alike characters: it stands for the entity
    /// only when no plainly written name does.
    pub disguised: bool,
}

/// A registry name a span may stand for.
#[derive(Debug, Clone)]
pub struct NameMatch {
    /// The folded name.
    pub key: String,
    /// Entities with this name.
    pub entities: Vec<Candidate>,
    /// Similarity.
    pub score: f32,
}

/// An area a span may stand for.
#[derive(Debug, Clone)]
pub struct AreaMatch {
    /// The area's name as written.
    pub name: String,
    /// Folded.
    pub key: String,
    /// Similarity.
    pub score: f32,
}

/// A slot value found in the transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum CapValue {
    /// Index into [`Search::names`].
    Name(u32),
    /// Index into [`Search::areas`].
    Area(u32),
    /// A number.
    Number(f64),
    /// A list value.
    Text(String),
}

/// One captured slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Cap {
    /// Slot table index.
    pub slot: u16,
    /// Value.
    pub value: CapValue,
    /// Confidence in (0, 1].
    pub score: f32,
}

/// A complete match of one template.
#[derive(Debug, Clone)]
pub struct Parse {
    /// Template index.
    pub template: usize,
    /// Its group.
    pub group: usize,
    /// Captured slots.
    pub caps: Vec<Cap>,
    /// Product of the slot scores.
    pub score: f32,
    /// Literal words matched (more = more specific).
    pub literals: u16,
    /// Whether a `{name}` was matched (a named device beats an area).
    pub has_name: bool,
}

/// The state of matching one transcript.
pub struct Search<'a> {
    g: &'a Grammar,
    registry: &'a EntityRegistry,
    norm: &'a Normalized,
    syms: Vec<u32>,
    /// Per token, the word id of the single word a number token was said as ("one" for
    /// `1`), so a template's literal "one timer" still matches; else [`UNKNOWN_WORD`].
    said_as: Vec<u32>,
    context_area: Option<(String, String)>,
    /// Name candidates found so far (all spans).
    pub names: Vec<NameMatch>,
    name_spans: HashMap<(usize, usize), Vec<u32>>,
    /// Area candidates found so far (all spans).
    pub areas: Vec<AreaMatch>,
    area_spans: HashMap<(usize, usize), Vec<u32>>,
    /// Other names of the home's areas (`[[area]] aliases`): the area's name and key, and
    /// the alias spelled; built on the first area slot.
    area_aliases: Option<Vec<(String, String, Spelled)>>,
    caps: Vec<Cap>,
    /// Complete matches.
    pub parses: Vec<Parse>,
    steps: usize,
}

impl<'a> Search<'a> {
    /// Prepares a search; `context_area` is the satellite's area (name, folded key).
    pub fn new(
        g: &'a Grammar,
        registry: &'a EntityRegistry,
        norm: &'a Normalized,
        context_area: Option<(String, String)>,
    ) -> Search<'a> {
        let syms = norm.tokens.iter().map(|t| g.words.get(&t.text)).collect();
        let said_as = norm
            .tokens
            .iter()
            .map(|t| match (t.number, t.source) {
                (Some(_), (start, end)) if end == start + 1 => {
                    norm.words.get(start).map_or(UNKNOWN_WORD, |w| g.words.get(w))
                }
                _ => UNKNOWN_WORD,
            })
            .collect();
        Search {
            g,
            registry,
            norm,
            syms,
            said_as,
            context_area,
            names: Vec::new(),
            name_spans: HashMap::new(),
            areas: Vec::new(),
            area_spans: HashMap::new(),
            area_aliases: None,
            caps: Vec::new(),
            parses: Vec::new(),
            steps: 0,
        }
    }

    /// Matches every template.
    pub fn run(&mut self) {
        if self.syms.is_empty() {
            return;
        }
        let g = self.g;
        for (t, template) in g.templates.iter().enumerate() {
            if self.allows(&template.program.first, 0) {
                self.step(t, 0, 0, 0);
            }
        }
    }

    fn step(&mut self, t: usize, pc: usize, pos: usize, literals: u16) {
        self.steps += 1;
        if self.steps > STEP_LIMIT {
            return;
        }
        let g = self.g;
        let program = &g.templates[t].program;
        match program.insts[pc] {
            Inst::Word(w) => {
                if self.syms.get(pos) == Some(&w) || (w != UNKNOWN_WORD && self.said_as.get(pos) == Some(&w)) {
                    self.step(t, pc + 1, pos + 1, literals + 1);
                }
            }
            Inst::Split(a, b) => {
                self.step(t, a as usize, pos, literals);
                self.step(t, b as usize, pos, literals);
            }
            Inst::Jump(a) => self.step(t, a as usize, pos, literals),
            Inst::Match => {
                if pos == self.syms.len() {
                    let score = self.caps.iter().map(|c| c.score).product();
                    let has_name = self.caps.iter().any(|c| matches!(c.value, CapValue::Name(_)));
                    self.parses.push(Parse {
                        template: t,
                        group: g.templates[t].group,
                        caps: self.caps.clone(),
                        score,
                        literals,
                        has_name,
                    });
                }
            }
            Inst::Slot(slot) => self.slot(t, pc, slot, pos, literals),
        }
    }

    /// Whether the template may go on with the token at `end` (or finish there).
    fn may_follow(&self, t: usize, pc: usize, end: usize) -> bool {
        self.allows(&self.g.templates[t].program.after[pc], end)
    }

    /// Whether `next` lets the token at `pos` (or the end) come next, as written or as said.
    fn allows(&self, next: &Lookahead, pos: usize) -> bool {
        next.allows(self.syms.get(pos).copied())
            || self.said_as.get(pos).is_some_and(|&w| w != UNKNOWN_WORD && next.allows(Some(w)))
    }

    fn with(&mut self, cap: Cap, t: usize, pc: usize, end: usize, literals: u16) {
        self.caps.push(cap);
        self.step(t, pc + 1, end, literals);
        self.caps.pop();
    }

    fn slot(&mut self, t: usize, pc: usize, slot: u16, pos: usize, literals: u16) {
        let n = self.syms.len();
        if pos >= n {
            return;
        }
        let g = self.g;
        match &g.slots[slot as usize].kind {
            SlotKind::Number { min, max, fractions } => {
                // hassil's ranges with fractions run to the last whole number's tenths (40.5
                // in 0..40); whole numbers stop at the end of the range.
                if let Some(v) = self.norm.tokens[pos].number
                    && (*min..=*max).contains(&if *fractions { v.trunc() } else { v })
                    && (*fractions || v.fract() == 0.0)
                    && self.may_follow(t, pc, pos + 1)
                {
                    self.with(Cap { slot, value: CapValue::Number(v), score: 1.0 }, t, pc, pos + 1, literals);
                }
            }
            SlotKind::Values(values) => {
                for (phrase, value) in values {
                    let end = pos + phrase.len();
                    if self.syms[pos..].starts_with(phrase) && self.may_follow(t, pc, end) {
                        let value = match value {
                            SlotValue::Number(n) => CapValue::Number(*n),
                            SlotValue::Text(t) => CapValue::Text(t.clone()),
                        };
                        let cap = Cap { slot, value, score: 1.0 };
                        self.with(cap, t, pc, end, literals + phrase.len() as u16);
                    }
                }
            }
            SlotKind::Name => {
                for end in pos + 1..=(pos + MAX_NAME_TOKENS).min(n) {
                    if !self.may_follow(t, pc, end) {
                        continue;
                    }
                    for i in self.name_candidates(pos, end) {
                        let score = self.names[i as usize].score;
                        self.with(Cap { slot, value: CapValue::Name(i), score }, t, pc, end, literals);
                    }
                }
            }
            SlotKind::Area => {
                for end in pos + 1..=(pos + MAX_NAME_TOKENS).min(n) {
                    if !self.may_follow(t, pc, end) {
                        continue;
                    }
                    for i in self.area_candidates(pos, end) {
                        let score = self.areas[i as usize].score;
                        self.with(Cap { slot, value: CapValue::Area(i), score }, t, pc, end, literals);
                    }
                }
            }
        }
    }

    /// The spoken forms of a span: tokens ("lamp 2") and source words ("lamp two").
    fn span_texts(&self, from: usize, to: usize) -> Vec<Spelled> {
        let tokens = self.norm.token_text(from, to);
        let source = self.norm.source_text(from, to);
        if source == tokens { vec![Spelled::new(&tokens)] } else { vec![Spelled::new(&tokens), Spelled::new(&source)] }
    }

    /// Whether a spoken span may stand for a registered name at all: every spoken word that
    /// is not in the name must not be a word with a meaning of its own here (a template word,
    /// a word of another name or area, a number) unless it is a near spelling of a stretch of
    /// the name ("stell" in "stehlampe"), and the name's numbers must be spoken.
    fn plausible(&self, spoken: &Spelled, key: &Spelled) -> bool {
        for w in &spoken.words {
            if key.words.contains(w) {
                continue;
            }
            if w.bytes().any(|b| b.is_ascii_digit()) {
                return false;
            }
            if (self.registry.knows_word(w) || self.g.words.contains(w)) && !near_part(w, &key.joined) {
                return false;
            }
        }
        key.words.iter().filter(|k| k.bytes().any(|b| b.is_ascii_digit())).all(|k| spoken.words.contains(k))
    }

    fn score(&self, texts: &[Spelled], key: &Spelled) -> Option<f32> {
        texts
            .iter()
            .filter_map(|s| fuzzy::similarity(s, key).filter(|_| self.plausible(s, key)))
            .fold(None, |best: Option<f32>, s| Some(best.map_or(s, |b| b.max(s))))
    }

    fn name_candidates(&mut self, from: usize, to: usize) -> Vec<u32> {
        if let Some(found) = self.name_spans.get(&(from, to)) {
            return found.clone();
        }
        let texts = self.span_texts(from, to);
        let mut found: Vec<u32> = Vec::new();
        let registry = self.registry;
        for (index, entry) in registry.entries().iter().enumerate() {
            for key in &entry.keys {
                if key.derived && self.g.generic_names.contains(&key.text) {
                    continue;
                }
                let Some(score) = self.score(&texts, &key.spelled) else { continue };
                let candidate = Candidate { index, derived: key.derived, disguised: key.disguised };
                match found.iter().find(|&&i| self.names[i as usize].key == key.text) {
                    Some(&i) => {
                        let m = &mut self.names[i as usize];
                        if !m.entities.iter().any(|c| c.index == index) {
                            m.entities.push(candidate);
                        }
                    }
                    None => {
                        found.push(self.names.len() as u32);
                        self.names.push(NameMatch { key: key.text.clone(), entities: vec![candidate], score });
                    }
                }
            }
        }
        self.name_spans.insert((from, to), found.clone());
        found
    }

    fn area_candidates(&mut self, from: usize, to: usize) -> Vec<u32> {
        if let Some(found) = self.area_spans.get(&(from, to)) {
            return found.clone();
        }
        let texts = self.span_texts(from, to);
        let registry = self.registry;
        let mut found = Vec::new();
        let context = self.context_area.as_ref().filter(|(_, k)| !registry.areas().iter().any(|a| a.key == *k));
        let context = context.map(|(name, key)| (name.clone(), key.clone(), Spelled::new(key)));
        let aliases = self.area_aliases.get_or_insert_with(|| {
            let mut out = Vec::new();
            for described in registry.described_areas() {
                let Some(area) = registry.areas().iter().find(|a| a.key == fold(&described.name)) else { continue };
                for alias in described.aliases.iter().map(|a| fold(a)).filter(|a| !a.is_empty() && *a != area.key) {
                    out.push((area.name.clone(), area.key.clone(), Spelled::new(&alias)));
                }
            }
            out
        });
        let aliases = std::mem::take(aliases);
        let areas = registry.areas().iter().map(|a| (&a.name, &a.key, &a.spelled));
        let others = aliases.iter().chain(context.iter()).map(|(n, k, s)| (n, k, s));
        for (name, key, spelled) in areas.chain(others) {
            if let Some(score) = self.score(&texts, spelled) {
                found.push(self.areas.len() as u32);
                self.areas.push(AreaMatch { name: name.clone(), key: key.clone(), score });
            }
        }
        self.area_aliases = Some(aliases);
        self.area_spans.insert((from, to), found.clone());
        found
    }
}

/// Whether `word` is part of `name` (letters only), or — for words of four letters or more —
/// one edit away from a stretch of it of the same length.
fn near_part(word: &str, name: &str) -> bool {
    if name.contains(word) {
        return true;
    }
    let (w, n) = (word.as_bytes(), name.as_bytes());
    w.len() >= 4
        && n.len() >= w.len()
        && n.windows(w.len()).any(|part| fuzzy::bounded_levenshtein(w, part, 1).is_some())
}

#[cfg(test)]
mod tests {
    use super::near_part;

    #[test]
    fn near_parts() {
        assert!(near_part("kitchen", "kitchenlight"));
        assert!(near_part("stell", "stehlampe"));
        assert!(!near_part("bedroom", "bathroomlight"));
        assert!(!near_part("the", "theater"[1..].as_ref()));
        assert!(!near_part("to", "tvstand"));
        assert!(!near_part("lamp", "kitchenlight"));
    }
}
