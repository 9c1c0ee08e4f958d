//! The sentence template language (described in the [module docs](super)): a parser from text
//! to a [`Node`] tree, and a compiler from trees to a small [`Program`] — a sequence of
//! instructions (word, slot, split, jump) that the matcher walks depth-first.

use std::collections::{BTreeSet, HashMap};

use crate::home::fold;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A literal word, folded ([`fold`]).
    Word(String),
    /// Items one after another.
    Seq(Vec<Node>),
    /// One of several sequences; `[x]` is `(x|)`.
    Alt(Vec<Node>),
    /// `{list}` or `{list:slot}`.
    Slot {
        /// Where values come from (`name`, `area`, `brightness`, ...).
        list: String,
        /// The slot the value is reported in.
        slot: String,
    },
    /// `<rule>`: a named template defined elsewhere.
    Rule(String),
}

/// A syntax error in a template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at character {at} of {template:?}")]
pub struct SyntaxError {
    /// The template.
    pub template: String,
    /// Character position (from 1).
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

const SPECIAL: &[char] = &['(', ')', '[', ']', '{', '}', '<', '>', '|'];

/// Parses one template.
pub fn parse(template: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser { chars: template.chars().collect(), pos: 0, template };
    p.alternatives(None)
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    template: &'a str,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError { template: self.template.to_string(), at: self.pos + 1, message: message.into() }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// `seq ('|' seq)*`, up to `close` (consumed) or the end when `close` is `None`.
    fn alternatives(&mut self, close: Option<char>) -> Result<Node, SyntaxError> {
        let mut options = Vec::new();
        loop {
            options.push(self.sequence()?);
            match (self.peek(), close) {
                (Some('|'), _) => self.pos += 1,
                (Some(c), Some(end)) if c == end => {
                    self.pos += 1;
                    break;
                }
                (None, None) => break,
                (None, Some(end)) => return Err(self.error(format!("missing '{end}'"))),
                (Some(c), _) => return Err(self.error(format!("unexpected '{c}'"))),
            }
        }
        Ok(if options.len() == 1 { options.pop().unwrap_or(Node::Seq(Vec::new())) } else { Node::Alt(options) })
    }

    /// Items up to '|', ')', ']' or the end.
    fn sequence(&mut self) -> Result<Node, SyntaxError> {
        let mut items = Vec::new();
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.pos += 1;
            }
            let Some(c) = self.peek() else { break };
            match c {
                '|' | ')' | ']' => break,
                '(' => {
                    self.pos += 1;
                    items.push(self.alternatives(Some(')'))?);
                }
                '[' => {
                    self.pos += 1;
                    let inner = self.alternatives(Some(']'))?;
                    items.push(Node::Alt(vec![inner, Node::Seq(Vec::new())]));
                }
                '{' => {
                    let inner = self.delimited('}')?;
                    let (list, slot) = inner.split_once(':').unwrap_or((&inner, &inner));
                    let (list, slot) = (list.trim(), slot.trim());
                    if !is_identifier(list) || !is_identifier(slot) {
                        return Err(self.error(format!("slot {{{inner}}} must be {{list}} or {{list:slot}}")));
                    }
                    items.push(Node::Slot { list: list.to_string(), slot: slot.to_string() });
                }
                '<' => {
                    let name = self.delimited('>')?;
                    if !is_identifier(name.trim()) {
                        return Err(self.error(format!("rule <{name}> must be a name")));
                    }
                    items.push(Node::Rule(name.trim().to_string()));
                }
                '}' | '>' => return Err(self.error(format!("unexpected '{c}'"))),
                _ => {
                    let start = self.pos;
                    while self.peek().is_some_and(|c| !c.is_whitespace() && !SPECIAL.contains(&c)) {
                        self.pos += 1;
                    }
                    let word: String = self.chars[start..self.pos].iter().collect();
                    items.extend(fold(&word).split_whitespace().map(|w| Node::Word(w.to_string())));
                }
            }
        }
        Ok(if items.len() == 1 { items.pop().unwrap_or(Node::Seq(Vec::new())) } else { Node::Seq(items) })
    }

    /// The text between the opening character at `pos` and `close`.
    fn delimited(&mut self, close: char) -> Result<String, SyntaxError> {
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(|c| c != close) {
            if SPECIAL.contains(&self.chars[self.pos]) {
                return Err(self.error(format!("missing '{close}'")));
            }
            self.pos += 1;
        }
        if self.peek().is_none() {
            return Err(self.error(format!("missing '{close}'")));
        }
        let inner: String = self.chars[start..self.pos].iter().collect();
        self.pos += 1;
        Ok(inner)
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Interned words: templates and transcripts compare word ids, not strings.
#[derive(Debug, Clone, Default)]
pub struct Words {
    ids: HashMap<String, u32>,
}

/// The id of a transcript word no template contains.
pub const UNKNOWN_WORD: u32 = u32::MAX;

impl Words {
    /// The id of `word`, added if new.
    pub fn intern(&mut self, word: &str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(word.to_string()).or_insert(next)
    }

    /// The id of `word`, or [`UNKNOWN_WORD`].
    pub fn get(&self, word: &str) -> u32 {
        self.ids.get(word).copied().unwrap_or(UNKNOWN_WORD)
    }

    /// Whether some template contains `word`.
    pub fn contains(&self, word: &str) -> bool {
        self.ids.contains_key(word)
    }
}

/// One instruction of a compiled template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inst {
    /// Match this word and go on.
    Word(u32),
    /// Match a value of this slot (index into the grammar's slot table) and go on.
    Slot(u16),
    /// Try both continuations.
    Split(u32, u32),
    /// Continue elsewhere.
    Jump(u32),
    /// The template matched if the transcript ends here.
    Match,
}

/// What may come next at some point of a program: used to skip hopeless work early.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookahead {
    /// Words that may come next.
    pub words: BTreeSet<u32>,
    /// The transcript may end here.
    pub end: bool,
    /// A slot may come next (then anything may).
    pub any: bool,
}

impl Lookahead {
    /// Whether the token with word id `word` (or the end, for `None`) may come next.
    pub fn allows(&self, word: Option<u32>) -> bool {
        self.any
            || match word {
                Some(w) => self.words.contains(&w),
                None => self.end,
            }
    }
}

/// A compiled template.
#[derive(Debug, Clone)]
pub struct Program {
    /// Instructions; execution starts at 0.
    pub insts: Vec<Inst>,
    /// What may come first.
    pub first: Lookahead,
    /// For each `Slot` instruction, what may follow it (indexed by instruction).
    pub after: Vec<Lookahead>,
}

/// A template reference that cannot be compiled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// `<rule>` is not defined.
    #[error("unknown rule <{0}>")]
    UnknownRule(String),
    /// Rules refer to each other in a circle (or nest too deeply).
    #[error("rule <{0}> refers to itself")]
    RecursiveRule(String),
    /// `{list}` is not defined.
    #[error("unknown slot list {{{0}}}")]
    UnknownList(String),
}

/// Compiles a template tree. `slot` resolves `{list:slot}` to a slot-table index.
pub fn compile(
    node: &Node,
    rules: &HashMap<String, Node>,
    words: &mut Words,
    slot: &mut dyn FnMut(&str, &str) -> Option<u16>,
) -> Result<Program, CompileError> {
    let mut c = Compiler { insts: Vec::new(), rules, words, slot, stack: Vec::new() };
    c.emit(node)?;
    c.insts.push(Inst::Match);
    let insts = c.insts;
    let first = lookahead(&insts, 0);
    let after = insts
        .iter()
        .enumerate()
        .map(|(pc, inst)| if matches!(inst, Inst::Slot(_)) { lookahead(&insts, pc + 1) } else { Lookahead::default() })
        .collect();
    Ok(Program { insts, first, after })
}

struct Compiler<'a> {
    insts: Vec<Inst>,
    rules: &'a HashMap<String, Node>,
    words: &'a mut Words,
    slot: &'a mut dyn FnMut(&str, &str) -> Option<u16>,
    /// Rules being expanded (cycle detection).
    stack: Vec<String>,
}

impl Compiler<'_> {
    fn emit(&mut self, node: &Node) -> Result<(), CompileError> {
        match node {
            Node::Word(w) => {
                let id = self.words.intern(w);
                self.insts.push(Inst::Word(id));
            }
            Node::Seq(items) => {
                for item in items {
                    self.emit(item)?;
                }
            }
            Node::Alt(options) => {
                let mut jumps = Vec::new();
                for (i, option) in options.iter().enumerate() {
                    if i + 1 < options.len() {
                        let split = self.insts.len();
                        self.insts.push(Inst::Split(0, 0));
                        self.emit(option)?;
                        jumps.push(self.insts.len());
                        self.insts.push(Inst::Jump(0));
                        self.insts[split] = Inst::Split(split as u32 + 1, self.insts.len() as u32);
                    } else {
                        self.emit(option)?;
                    }
                }
                let end = self.insts.len() as u32;
                for j in jumps {
                    self.insts[j] = Inst::Jump(end);
                }
            }
            Node::Slot { list, slot } => {
                let id = (self.slot)(list, slot).ok_or_else(|| CompileError::UnknownList(list.clone()))?;
                self.insts.push(Inst::Slot(id));
            }
            Node::Rule(name) => {
                if self.stack.contains(name) || self.stack.len() > 32 {
                    return Err(CompileError::RecursiveRule(name.clone()));
                }
                let rules = self.rules;
                let body = rules.get(name).ok_or_else(|| CompileError::UnknownRule(name.clone()))?;
                self.stack.push(name.clone());
                self.emit(body)?;
                self.stack.pop();
            }
        }
        Ok(())
    }
}

/// What may come at `pc`, following splits and jumps.
fn lookahead(insts: &[Inst], pc: usize) -> Lookahead {
    let mut out = Lookahead::default();
    let mut seen = vec![false; insts.len()];
    let mut todo = vec![pc];
    while let Some(pc) = todo.pop() {
        if pc >= insts.len() || std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        match insts[pc] {
            Inst::Word(w) => {
                out.words.insert(w);
            }
            Inst::Slot(_) => out.any = true,
            Inst::Split(a, b) => todo.extend([a as usize, b as usize]),
            Inst::Jump(a) => todo.push(a as usize),
            Inst::Match => out.end = true,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Node {
        Node::Word(s.into())
    }

    fn opt(n: Node) -> Node {
        Node::Alt(vec![n, Node::Seq(vec![])])
    }

    #[test]
    fn parses_alternatives_optionals_slots_rules() {
        assert_eq!(parse("turn on").unwrap(), Node::Seq(vec![w("turn"), w("on")]));
        assert_eq!(
            parse("(turn|switch) on [the] {name}").unwrap(),
            Node::Seq(vec![
                Node::Alt(vec![w("turn"), w("switch")]),
                w("on"),
                opt(w("the")),
                Node::Slot { list: "name".into(), slot: "name".into() },
            ])
        );
        assert_eq!(
            parse("<dim> {number:brightness} percent").unwrap(),
            Node::Seq(vec![
                Node::Rule("dim".into()),
                Node::Slot { list: "number".into(), slot: "brightness".into() },
                w("percent")
            ])
        );
        assert_eq!(parse("a | b").unwrap(), Node::Alt(vec![w("a"), w("b")]));
        assert_eq!(parse("[(a|b) c]").unwrap(), opt(Node::Seq(vec![Node::Alt(vec![w("a"), w("b")]), w("c")])));
    }

    #[test]
    fn folds_words_like_transcripts() {
        assert_eq!(parse("Schließe die Küche").unwrap(), Node::Seq(vec![w("schliesse"), w("die"), w("kueche")]));
        assert_eq!(
            parse("what's the living-room?").unwrap(),
            Node::Seq(vec![w("whats"), w("the"), w("living"), w("room")])
        );
    }

    #[test]
    fn syntax_errors_name_the_place() {
        for bad in ["(a|b", "[a", "a)", "{name", "{na me}", "<rule", "a > b", "{}", "{a:b:c}"] {
            let err = parse(bad).unwrap_err();
            assert!(err.at >= 1 && err.to_string().contains(bad), "{bad}: {err}");
        }
    }

    fn program(template: &str, rules: &[(&str, &str)]) -> Result<(Program, Words), CompileError> {
        let rules: HashMap<String, Node> = rules.iter().map(|(k, v)| (k.to_string(), parse(v).unwrap())).collect();
        let mut words = Words::default();
        let mut slot = |list: &str, _: &str| (list == "name").then_some(0u16);
        let p = compile(&parse(template).unwrap(), &rules, &mut words, &mut slot)?;
        Ok((p, words))
    }

    #[test]
    fn compiles_with_lookahead() {
        let (p, words) = program("<on> [the] {name} [please]", &[("on", "(turn|switch) on")]).unwrap();
        let ids = |ws: &[&str]| ws.iter().map(|w| words.get(w)).collect::<BTreeSet<_>>();
        assert_eq!(p.first.words, ids(&["turn", "switch"]));
        assert!(!p.first.end && !p.first.any);
        let slot_pc = p.insts.iter().position(|i| matches!(i, Inst::Slot(0))).unwrap();
        assert_eq!(p.after[slot_pc].words, ids(&["please"]));
        assert!(p.after[slot_pc].end);
        assert_eq!(*p.insts.last().unwrap(), Inst::Match);
    }

    #[test]
    fn compile_errors() {
        assert_eq!(program("<nope>", &[]).unwrap_err(), CompileError::UnknownRule("nope".into()));
        assert_eq!(
            program("<a>", &[("a", "x <b>"), ("b", "<a>")]).unwrap_err(),
            CompileError::RecursiveRule("a".into())
        );
        assert_eq!(program("{colour}", &[]).unwrap_err(), CompileError::UnknownList("colour".into()));
    }
}
