//! Home Assistant's sentence data, understood as Assist understands it.
//!
//! [`LanguageGrammar::from_json`] compiles one `<lang>.json` of the `home-assistant-intents`
//! package (or a user's custom sentences in the same shape): intents with their sentence
//! templates ([`expr`]), fixed `slots`, `requires_context` / `excludes_context`, `response`
//! keys, the language's slot lists (text lists with in/out values and per-value context, range
//! lists, wildcards), expansion rules and skip words. [`LanguageGrammar::recognize_best`] then
//! matches a sentence against all of it, with the home's own lists (`name`, `area`, `floor`)
//! and the satellite's context, and ranks the matches the way hassil's `recognize_best` does.
//! The data is read by [`data`] (a wheel or a folder); nothing of it is in this repository.
//!
//! Recognition is pure: no I/O, no clock; the same text, lists and context give the same answer.

pub mod assist;
pub mod data;
pub mod expr;
mod matcher;

use std::collections::HashMap;

use serde_json::{Map, Value};

use expr::{Expr, SyntaxError};

pub use matcher::{Entity, Recognition};

/// A problem in sentence data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// The JSON does not have the shape of Home Assistant's sentence data.
    #[error("{what} is not valid sentence data: {problem}")]
    Shape {
        /// Where (`intents.HassTurnOn.data[2]`, `lists.brightness`, ...).
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// A template does not parse.
    #[error("{what}: {source}")]
    Syntax {
        /// Where the template is.
        what: String,
        /// The parser's complaint.
        #[source]
        source: SyntaxError,
    },
    /// A template refers to a rule that is not defined (or defined in terms of itself).
    #[error("{what}: expansion rule <{rule}> is {problem}")]
    Rule {
        /// Where the reference is.
        what: String,
        /// The rule.
        rule: String,
        /// `not defined` or `recursive`.
        problem: &'static str,
    },
}

/// A compiled template: rules inlined, text folded into pieces.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text: words and the gaps between them; `count` is its length for ranking
    /// (hassil counts the characters of each literal chunk, inner spaces included);
    /// `ends_word`: it ends in a space or an apostrophe, so what follows starts a word.
    Lit {
        pieces: Vec<Piece>,
        count: usize,
        ends_word: bool,
    },
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Perm(Vec<Node>),
    /// A slot list by name (resolved when matching: the intent data's own, the caller's, the
    /// language's), reported in `slot`.
    List {
        list: String,
        slot: String,
    },
    /// An inline range `{N..M,S:slot}`.
    Range {
        range: RangeList,
        slot: String,
    },
}

/// Part of a literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// Characters that must follow exactly (folded: lower case, hyphens as gaps).
    Chars(Vec<char>),
    /// A word gap: a space, or nothing at the start, at the end or after another gap.
    Gap,
}

/// A slot list.
#[derive(Debug, Clone)]
pub enum SlotList {
    /// Values spoken as text.
    Text(TextList),
    /// Numbers.
    Range(RangeList),
    /// Any text.
    Wildcard,
}

/// The values of a text list, indexed by the letter they start with.
#[derive(Debug, Clone)]
pub struct TextList {
    pub(crate) values: Vec<TextValue>,
    /// Positions of the values that start with a known letter, by that letter.
    by_first: HashMap<char, Vec<usize>>,
    /// Positions of the values that may start with anything (templates).
    any_first: Vec<usize>,
}

impl TextList {
    /// A list of these values, in order.
    pub fn new(values: Vec<TextValue>) -> TextList {
        let mut by_first: HashMap<char, Vec<usize>> = HashMap::new();
        let mut any_first = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match &v.input {
                Node::Lit { pieces, .. } => match pieces.iter().find_map(|p| match p {
                    Piece::Chars(cs) => cs.first().copied(),
                    Piece::Gap => None,
                }) {
                    Some(c) => by_first.entry(c).or_default().push(i),
                    None => any_first.push(i),
                },
                _ => any_first.push(i),
            }
        }
        TextList { values, by_first, any_first }
    }

    /// The values that may match text starting with `c`, in list order.
    pub(crate) fn candidates(&self, c: char) -> impl Iterator<Item = &TextValue> {
        let known = self.by_first.get(&c).map_or(&[][..], Vec::as_slice);
        let mut all: Vec<usize> = known.iter().chain(&self.any_first).copied().collect();
        if !self.any_first.is_empty() && !known.is_empty() {
            all.sort_unstable();
        }
        all.into_iter().map(|i| &self.values[i])
    }
}

impl SlotList {
    /// A text list of these values.
    pub fn text(values: Vec<TextValue>) -> SlotList {
        SlotList::Text(TextList::new(values))
    }
}

/// One value of a text list.
#[derive(Debug, Clone)]
pub struct TextValue {
    pub(crate) input: Node,
    /// What the slot reports; `None`: the text as said.
    pub out: Option<Value>,
    /// Merged into the match's context when this value matches (`domain`, `area`, ...).
    pub context: Map<String, Value>,
    /// The value's words, folded, when it may also match slightly misheard ([`TextValue::name`]).
    pub(crate) words: Option<Vec<Vec<char>>>,
}

impl TextValue {
    /// A plain value: said as `text`, reported as `out`.
    pub fn literal(text: &str, out: Value, context: Map<String, Value>) -> TextValue {
        TextValue { input: literal(text), out: Some(out), context, words: None }
    }

    /// A name of the home (entity, area, floor): like [`TextValue::literal`], and in a
    /// lenient pass also matched with a small mishearing ("kitchen lite").
    pub fn name(text: &str, out: Value, context: Map<String, Value>) -> TextValue {
        let folded: String = text.chars().flat_map(fold_char).collect();
        let words = folded.split_whitespace().map(|w| w.chars().collect()).collect();
        TextValue { input: literal(text), out: Some(out), context, words: Some(words) }
    }
}

/// How a range list takes fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fractions {
    /// Whole numbers only.
    None,
    /// `.5` steps.
    Halves,
    /// `.1` steps.
    Tenths,
}

/// A range of numbers (`range: {from, to, step, fractions, multiplier}`).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeList {
    /// First value.
    pub from: i64,
    /// Last value (inclusive).
    pub to: i64,
    /// Step.
    pub step: i64,
    /// Fractions allowed.
    pub fractions: Fractions,
    /// Applied to the value reported.
    pub multiplier: Option<f64>,
    /// Whether digits are accepted (`digits: false` for word-only lists).
    pub digits: bool,
}

impl RangeList {
    /// Whether `n` is one of the list's values.
    pub fn contains(&self, n: f64) -> bool {
        let whole = n.trunc();
        // With fractions the last whole number takes its fractions too (0..100 by halves
        // ends at 100.5, as in hassil).
        let last = if self.fractions == Fractions::None { self.to as f64 } else { self.to as f64 + 0.99 };
        if n < self.from as f64 || n > last {
            return false;
        }
        let fraction = n - whole;
        let fraction_ok = match self.fractions {
            Fractions::None => fraction == 0.0,
            Fractions::Halves => (fraction * 2.0).fract().abs() < 1e-9,
            Fractions::Tenths => ((fraction * 10.0) - (fraction * 10.0).round()).abs() < 1e-6,
        };
        // A non-unit step applies to the whole part (hassil: the values from, from+step, ...).
        fraction_ok && ((whole as i64) - self.from).rem_euclid(self.step) == 0
    }
}

/// Sentences of one intent that share slots, context rules and a response.
#[derive(Debug, Clone)]
pub(crate) struct IntentData {
    pub intent: usize,
    pub sentences: Vec<Node>,
    /// Whether the sentence is a lone wildcard, starts with one or ends with one (skip words
    /// are then kept where the wildcard is).
    pub wildcard_ends: Vec<(bool, bool)>,
    /// Per sentence, text that must occur in any sentence it matches ([`required`]).
    pub required: Vec<Vec<Vec<String>>>,
    pub slots: Map<String, Value>,
    pub requires: Map<String, Value>,
    pub excludes: Map<String, Value>,
    pub response: Option<String>,
    pub lists: HashMap<String, SlotList>,
}

/// One language's sentence data, compiled.
#[derive(Debug, Clone)]
pub struct LanguageGrammar {
    /// The language code of the data (`en`, `de`, `pt-BR`, ...).
    pub language: String,
    pub(crate) intents: Vec<String>,
    pub(crate) data: Vec<IntentData>,
    pub(crate) lists: HashMap<String, SlotList>,
    /// Longest first.
    pub(crate) skip_words: Vec<Vec<char>>,
    /// Response templates by intent and key, as the data has them (rendered elsewhere).
    pub responses: Value,
}

/// The folding both the text and the templates get: lower case, `’` as `'`, hyphens and
/// underscores as gaps.
pub(crate) fn fold_char(c: char) -> impl Iterator<Item = char> {
    let c = match c {
        '’' => '\'',
        '-' | '_' => ' ',
        c => c,
    };
    let mut lower = c.to_lowercase();
    // Keep one character per character, so positions in the folded and the original text agree.
    std::iter::once(lower.next().unwrap_or(c))
}

/// A literal text as pieces.
pub(crate) fn literal(text: &str) -> Node {
    let mut pieces = Vec::new();
    let mut word = Vec::new();
    for c in text.chars().flat_map(fold_char) {
        if c.is_whitespace() {
            if !word.is_empty() {
                pieces.push(Piece::Chars(std::mem::take(&mut word)));
            }
            if pieces.last() != Some(&Piece::Gap) {
                pieces.push(Piece::Gap);
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        pieces.push(Piece::Chars(word));
    }
    let ends_word = text.ends_with(char::is_whitespace) || text.ends_with(['\'', '’']);
    Node::Lit { pieces, count: text.trim().chars().count(), ends_word }
}

/// Compiles a parsed template: rules inlined (`rules` first the intent data's, then the
/// language's), text into pieces.
struct Compiler<'a> {
    rules: [&'a HashMap<String, Expr>; 2],
    active: Vec<String>,
    what: &'a str,
}

impl Compiler<'_> {
    fn compile(&mut self, e: &Expr) -> Result<Node, DataError> {
        Ok(match e {
            Expr::Text(t) => literal(t),
            Expr::Seq(items) => Node::Seq(items.iter().map(|i| self.compile(i)).collect::<Result<_, _>>()?),
            Expr::Alt(items) => Node::Alt(items.iter().map(|i| self.compile(i)).collect::<Result<_, _>>()?),
            Expr::Perm(items) => Node::Perm(items.iter().map(|i| self.compile(i)).collect::<Result<_, _>>()?),
            Expr::List { list, slot } => Node::List { list: list.clone(), slot: slot.clone() },
            Expr::Range { from, to, step, slot } => Node::Range {
                range: RangeList {
                    from: *from,
                    to: *to,
                    step: *step,
                    fractions: Fractions::None,
                    multiplier: None,
                    digits: true,
                },
                slot: slot.clone(),
            },
            Expr::Rule(name) => {
                let error = |problem| DataError::Rule { what: self.what.to_string(), rule: name.clone(), problem };
                if self.active.contains(name) {
                    return Err(error("recursive"));
                }
                let body = self.rules.iter().find_map(|r| r.get(name)).ok_or_else(|| error("not defined"))?;
                self.active.push(name.clone());
                let node = self.compile(body);
                self.active.pop();
                node?
            }
        })
    }
}

fn shape(what: &str, problem: impl Into<String>) -> DataError {
    DataError::Shape { what: what.to_string(), problem: problem.into() }
}

fn parse_template(what: &str, text: &str) -> Result<Expr, DataError> {
    expr::parse(text).map_err(|source| DataError::Syntax { what: what.to_string(), source })
}

fn parse_rules(what: &str, value: Option<&Value>) -> Result<HashMap<String, Expr>, DataError> {
    let mut rules = HashMap::new();
    let Some(value) = value else { return Ok(rules) };
    let map = value.as_object().ok_or_else(|| shape(what, "expansion_rules is not a table"))?;
    for (name, body) in map {
        let body = body.as_str().ok_or_else(|| shape(what, format!("rule {name} is not text")))?;
        rules.insert(name.clone(), parse_template(&format!("{what} rule <{name}>"), body)?);
    }
    Ok(rules)
}

/// Whether a text has template syntax (hassil treats such list values as templates).
fn is_template(text: &str) -> bool {
    text.contains(['(', ')', '[', ']', '{', '}', '<', '>', '|'])
}

fn parse_list(what: &str, value: &Value, rules: [&HashMap<String, Expr>; 2]) -> Result<SlotList, DataError> {
    let map = value.as_object().ok_or_else(|| shape(what, "a list is not a table"))?;
    if let Some(values) = map.get("values") {
        let values = values.as_array().ok_or_else(|| shape(what, "values is not a list"))?;
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            let (input, value_out, context) = match v {
                Value::String(s) if !is_template(s) => (literal(s), Some(v.clone()), Map::new()),
                Value::String(s) => (compile_text(what, s, rules)?, None, Map::new()),
                Value::Object(o) => {
                    let input = match o.get("in") {
                        Some(Value::String(s)) => compile_text(what, s, rules)?,
                        _ => return Err(shape(what, "a value has no \"in\" text")),
                    };
                    let context = o.get("context").and_then(Value::as_object).cloned().unwrap_or_default();
                    (input, o.get("out").cloned(), context)
                }
                Value::Number(_) | Value::Bool(_) => (literal(&v.to_string()), Some(v.clone()), Map::new()),
                _ => return Err(shape(what, "a value is neither text nor a table")),
            };
            out.push(TextValue { input, out: value_out, context, words: None });
        }
        return Ok(SlotList::text(out));
    }
    if let Some(range) = map.get("range") {
        let number = |key: &str| range.get(key).and_then(Value::as_f64);
        let (Some(from), Some(to)) = (number("from"), number("to")) else {
            return Err(shape(what, "a range needs from and to"));
        };
        let fractions = match range.get("fractions").and_then(Value::as_str) {
            None => Fractions::None,
            Some("halves") => Fractions::Halves,
            Some("tenths") => Fractions::Tenths,
            Some(other) => return Err(shape(what, format!("fractions {other:?} is not halves or tenths"))),
        };
        return Ok(SlotList::Range(RangeList {
            from: from as i64,
            to: to as i64,
            step: number("step").map_or(1, |s| (s as i64).max(1)),
            fractions,
            multiplier: number("multiplier"),
            digits: range.get("digits").and_then(Value::as_bool).unwrap_or(true),
        }));
    }
    if map.get("wildcard").and_then(Value::as_bool) == Some(true) {
        return Ok(SlotList::Wildcard);
    }
    Err(shape(what, "a list has neither values, range nor wildcard"))
}

fn compile_text(what: &str, text: &str, rules: [&HashMap<String, Expr>; 2]) -> Result<Node, DataError> {
    let expr = parse_template(what, text)?;
    Compiler { rules, active: Vec::new(), what }.compile(&expr)
}

fn parse_lists(
    what: &str,
    value: Option<&Value>,
    rules: [&HashMap<String, Expr>; 2],
) -> Result<HashMap<String, SlotList>, DataError> {
    let mut lists = HashMap::new();
    if let Some(map) = value.and_then(Value::as_object) {
        for (name, list) in map {
            lists.insert(name.clone(), parse_list(&format!("{what} list {name}"), list, rules)?);
        }
    }
    Ok(lists)
}

/// Whether a node is a reference to a wildcard list.
fn is_wildcard(node: &Node, lists: [&HashMap<String, SlotList>; 2]) -> bool {
    match node {
        Node::List { list, .. } => {
            lists.iter().find_map(|l| l.get(list)).is_some_and(|l| matches!(l, SlotList::Wildcard))
        }
        _ => false,
    }
}

impl LanguageGrammar {
    /// Compiles one language file (`{"language", "intents", "lists", "expansion_rules",
    /// "skip_words", "responses"}`). `extra` adds more files of the same language on top
    /// (custom sentences): their intents join, their lists and rules win.
    pub fn from_json(file: &Value, extra: &[Value]) -> Result<LanguageGrammar, DataError> {
        let language = file.get("language").and_then(Value::as_str).unwrap_or_default().to_string();
        let files: Vec<&Value> = std::iter::once(file).chain(extra).collect();
        let mut rules = HashMap::new();
        let mut skip: Vec<String> = Vec::new();
        for f in &files {
            rules.extend(parse_rules("expansion_rules", f.get("expansion_rules"))?);
            if let Some(words) = f.get("skip_words").and_then(Value::as_array) {
                skip.extend(words.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
        let no_rules = HashMap::new();
        let mut lists = HashMap::new();
        for f in &files {
            lists.extend(parse_lists("lists", f.get("lists"), [&rules, &no_rules])?);
        }
        let mut intents: Vec<String> = Vec::new();
        let mut data = Vec::new();
        for f in &files {
            let Some(map) = f.get("intents").and_then(Value::as_object) else { continue };
            for (name, intent) in map {
                let index = match intents.iter().position(|n| n == name) {
                    Some(i) => i,
                    None => {
                        intents.push(name.clone());
                        intents.len() - 1
                    }
                };
                let Some(blocks) = intent.get("data").and_then(Value::as_array) else {
                    return Err(shape(&format!("intents.{name}"), "no data list"));
                };
                for (i, block) in blocks.iter().enumerate() {
                    let what = format!("intents.{name}.data[{i}]");
                    data.push(compile_data(&what, index, block, &rules, &lists)?);
                }
            }
        }
        let mut skip_words: Vec<Vec<char>> = skip
            .iter()
            .map(|w| w.trim().chars().flat_map(fold_char).collect::<Vec<char>>())
            .filter(|w| !w.is_empty())
            .collect();
        skip_words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        skip_words.dedup();
        // Response templates: the custom files' win, per intent and key.
        let mut responses = file.get("responses").cloned().unwrap_or(Value::Null);
        for f in extra {
            let Some(more) = f.pointer("/responses/intents").and_then(Value::as_object) else { continue };
            if !responses.is_object() {
                responses = serde_json::json!({});
            }
            if let Some(Value::Object(all)) =
                responses.as_object_mut().map(|r| r.entry("intents").or_insert_with(|| serde_json::json!({})))
            {
                for (intent, keys) in more {
                    let Some(keys) = keys.as_object() else { continue };
                    let slot = all.entry(intent.clone()).or_insert_with(|| serde_json::json!({}));
                    if let Some(slot) = slot.as_object_mut() {
                        slot.extend(keys.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                }
            }
        }
        Ok(LanguageGrammar { language, intents, data, lists, skip_words, responses })
    }

    /// The intents the data has, in its order.
    pub fn intent_names(&self) -> &[String] {
        &self.intents
    }

    /// How many sentence templates the data has.
    pub fn sentence_count(&self) -> usize {
        self.data.iter().map(|d| d.sentences.len()).sum()
    }
}

fn compile_data(
    what: &str,
    intent: usize,
    block: &Value,
    rules: &HashMap<String, Expr>,
    lists: &HashMap<String, SlotList>,
) -> Result<IntentData, DataError> {
    let table = |key: &str| -> Result<Map<String, Value>, DataError> {
        match block.get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(shape(what, format!("{key} is not a table"))),
        }
    };
    let local_rules = parse_rules(what, block.get("expansion_rules"))?;
    let local_lists = parse_lists(what, block.get("lists"), [&local_rules, rules])?;
    let sentences = block.get("sentences").and_then(Value::as_array).ok_or_else(|| shape(what, "no sentences list"))?;
    let mut nodes = Vec::with_capacity(sentences.len());
    let mut wildcard_ends = Vec::with_capacity(sentences.len());
    let mut required = Vec::with_capacity(sentences.len());
    for s in sentences {
        let text = s.as_str().ok_or_else(|| shape(what, "a sentence is not text"))?;
        let node = compile_text(&format!("{what} sentence {text:?}"), text, [&local_rules, rules])?;
        let both = [&local_lists, lists];
        let ends = match &node {
            Node::Seq(items) if items.len() > 1 => {
                (is_wildcard(&items[0], both), items.last().is_some_and(|n| is_wildcard(n, both)))
            }
            n if is_wildcard(n, both) => (true, true),
            _ => (false, false),
        };
        required.push(self::required(&node));
        nodes.push(node);
        wildcard_ends.push(ends);
    }
    Ok(IntentData {
        intent,
        sentences: nodes,
        wildcard_ends,
        required,
        slots: table("slots")?,
        requires: table("requires_context")?,
        excludes: table("excludes_context")?,
        response: block.get("response").and_then(Value::as_str).map(str::to_string),
        lists: local_lists,
    })
}

/// Text a sentence cannot match without: clauses of fragments, each clause satisfied when one
/// of its fragments occurs in the folded text. Fragments never span a gap, so removing skip
/// words cannot create one, and list values are not counted: a sound filter, never a lost match.
fn required(node: &Node) -> Vec<Vec<String>> {
    match node {
        Node::Lit { pieces, .. } => pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Chars(cs) => Some(vec![cs.iter().collect()]),
                Piece::Gap => None,
            })
            .collect(),
        Node::Seq(items) | Node::Perm(items) => items.iter().flat_map(required).collect(),
        Node::Alt(items) => {
            // One branch must match, so one of the branches' first clauses must hold.
            let mut any = Vec::new();
            for item in items {
                match required(item).into_iter().next() {
                    Some(clause) => any.extend(clause),
                    None => return Vec::new(),
                }
            }
            vec![any]
        }
        Node::List { .. } | Node::Range { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
