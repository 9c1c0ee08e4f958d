//! Whisper's GPT-2 byte-level BPE vocabulary, as CTranslate2 stores it, turned into the raw
//! byte strings whisper.cpp wants.
//!
//! GPT-2 maps every byte to a printable character (`Ġ` is a space, `Ċ` a newline, ...) so tokens
//! can live in text files. whisper.cpp stores the real bytes of the GPT-2 part of the
//! vocabulary, ids 0 to 50256, and adds Whisper's special tokens itself. What that part holds
//! differs with the vocabulary:
//! - English-only models use GPT-2's own vocabulary, whose id 50256 is `<|endoftext|>`: it is
//!   written too (as the official `ggml-tiny.en.bin` does: 50257 tokens);
//! - multilingual models have 50257 ordinary tokens, the last (50256) an empty one that must
//!   be kept, and their `<|endoftext|>` (50257) is a Whisper special token: not written.
//!
//! Either way: the tokens before the first `<|endoftext|>`, plus that token when its id is
//! GPT-2's 50256.

use std::collections::HashMap;

/// The first special token; ordinary tokens are the ones before it.
pub const END_OF_TEXT: &str = "<|endoftext|>";
/// `<|endoftext|>`'s id in GPT-2's own vocabulary (English-only Whisper models).
pub const GPT2_END_OF_TEXT_ID: usize = 50256;

/// The byte each byte-level character stands for (the inverse of GPT-2's `bytes_to_unicode`).
fn char_to_byte_table() -> HashMap<char, u8> {
    let mut table = HashMap::with_capacity(256);
    let mut next_spare = 256u32;
    for b in 0u32..=255 {
        let printable = (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        let c = if printable {
            b
        } else {
            let c = next_spare;
            next_spare += 1;
            c
        };
        #[allow(clippy::expect_used, reason = "GPT-2's byte alphabet is code points below U+0200, all valid")]
        let c = char::from_u32(c).expect("byte-level alphabet is valid Unicode");
        table.insert(c, b as u8);
    }
    table
}

/// Decodes byte-level BPE token texts to bytes. A character outside the byte-level alphabet
/// (never in a real Whisper vocabulary) is kept as its UTF-8 encoding.
pub struct ByteDecoder {
    table: HashMap<char, u8>,
}

impl Default for ByteDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ByteDecoder {
    pub fn new() -> Self {
        Self { table: char_to_byte_table() }
    }

    pub fn decode(&self, token: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(token.len());
        for c in token.chars() {
            match self.table.get(&c) {
                Some(b) => out.push(*b),
                None => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        out
    }
}

/// Splits `vocabulary.txt` (one token per line, in id order) into tokens.
pub fn parse_vocabulary_txt(text: &str) -> Vec<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Vec::new();
    }
    body.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line).to_string()).collect()
}

/// Reads `vocabulary.json`: a JSON list of tokens in id order, or a `{token: id}` object.
pub fn parse_vocabulary_json(text: &str) -> Result<Vec<String>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    match value {
        serde_json::Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                serde_json::Value::String(s) => Ok(s),
                other => Err(format!("entry {i} is {other}, expected a string")),
            })
            .collect(),
        serde_json::Value::Object(map) => tokens_from_id_map(map.into_iter()),
        _ => Err("expected a list of tokens or a {token: id} object".to_string()),
    }
}

/// Reads the vocabulary out of a Hugging Face `tokenizer.json` (`model.vocab` plus
/// `added_tokens`), for models converted without `vocabulary.txt`.
pub fn parse_tokenizer_json(text: &str) -> Result<Vec<String>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let vocab =
        value.get("model").and_then(|m| m.get("vocab")).and_then(|v| v.as_object()).ok_or("no model.vocab object")?;
    let mut pairs: Vec<(String, serde_json::Value)> = vocab.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(added) = value.get("added_tokens").and_then(|a| a.as_array()) {
        for t in added {
            if let (Some(content), Some(id)) = (t.get("content").and_then(|c| c.as_str()), t.get("id")) {
                pairs.push((content.to_string(), id.clone()));
            }
        }
    }
    tokens_from_id_map(pairs.into_iter())
}

fn tokens_from_id_map(pairs: impl Iterator<Item = (String, serde_json::Value)>) -> Result<Vec<String>, String> {
    let mut by_id: Vec<Option<String>> = Vec::new();
    for (token, id) in pairs {
        let id = id.as_u64().ok_or_else(|| format!("token {token:?} has id {id}, expected a number"))? as usize;
        if id > 10_000_000 {
            return Err(format!("token {token:?} has an absurd id {id}"));
        }
        if by_id.len() <= id {
            by_id.resize(id + 1, None);
        }
        by_id[id] = Some(token);
    }
    // A gap (e.g. the unnamed id 50256 of multilingual models) becomes an empty token.
    Ok(by_id.into_iter().map(Option::unwrap_or_default).collect())
}

/// The tokens whisper.cpp reads from the file (see the module docs), as raw bytes.
pub fn ggml_token_bytes(tokens: &[String]) -> Result<Vec<Vec<u8>>, String> {
    let eot = tokens
        .iter()
        .position(|t| t == END_OF_TEXT)
        .ok_or_else(|| format!("no {END_OF_TEXT} token among {} tokens", tokens.len()))?;
    let end = if eot == GPT2_END_OF_TEXT_ID { eot + 1 } else { eot };
    let decoder = ByteDecoder::new();
    Ok(tokens[..end].iter().map(|t| decoder.decode(t)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_tokens_decode_to_raw_bytes() {
        let d = ByteDecoder::new();
        assert_eq!(d.decode("Ġthe"), b" the");
        assert_eq!(d.decode("hello"), b"hello");
        assert_eq!(d.decode("ĊĊ"), b"\n\n");
        assert_eq!(d.decode("ĉ"), b"\t");
        assert_eq!(d.decode("Ā"), [0u8]);
        // "Ã¼" is how GPT-2 spells the UTF-8 bytes of "ü".
        assert_eq!(d.decode("Ã¼"), "ü".as_bytes());
        // Soft hyphen 0xAD is not printable, so it is remapped (to U+0143 'Ń').
        assert_eq!(d.decode("Ń"), [0xADu8]);
        assert_eq!(d.decode(""), b"");
    }

    #[test]
    fn alphabet_covers_every_byte_once() {
        let table = char_to_byte_table();
        assert_eq!(table.len(), 256);
        let mut seen = [false; 256];
        for b in table.values() {
            seen[*b as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn vocabulary_txt_keeps_empty_tokens() {
        let tokens = parse_vocabulary_txt("!\nĠa\n\n<|endoftext|>\n<|en|>\n");
        assert_eq!(tokens, ["!", "Ġa", "", "<|endoftext|>", "<|en|>"]);
        let bytes = ggml_token_bytes(&tokens).unwrap();
        assert_eq!(bytes, vec![b"!".to_vec(), b" a".to_vec(), Vec::new()]);
    }

    #[test]
    fn gpt2_end_of_text_is_kept_for_english_only_models() {
        // English-only: 50256 ordinary tokens, then <|endoftext|> (GPT-2's id 50256).
        let mut en: Vec<String> = (0..50256).map(|i| format!("t{i}")).collect();
        en.extend(["<|endoftext|>".to_string(), "<|startoftranscript|>".to_string()]);
        let bytes = ggml_token_bytes(&en).unwrap();
        assert_eq!(bytes.len(), 50257);
        assert_eq!(bytes[50256], b"<|endoftext|>");
        // Multilingual: 50257 ordinary tokens (the last empty), then <|endoftext|> at 50257.
        let mut multi: Vec<String> = (0..50256).map(|i| format!("t{i}")).collect();
        multi.extend([String::new(), "<|endoftext|>".to_string(), "<|startoftranscript|>".to_string()]);
        let bytes = ggml_token_bytes(&multi).unwrap();
        assert_eq!(bytes.len(), 50257);
        assert_eq!(bytes[50256], b"");
    }

    #[test]
    fn vocabulary_json_list_and_map() {
        let list = parse_vocabulary_json(r#"["a","Ġb","<|endoftext|>"]"#).unwrap();
        assert_eq!(list, ["a", "Ġb", "<|endoftext|>"]);
        let map = parse_vocabulary_json(r#"{"Ġb":1,"a":0,"<|endoftext|>":3}"#).unwrap();
        assert_eq!(map, ["a", "Ġb", "", "<|endoftext|>"]);
        assert!(parse_vocabulary_json("[1]").unwrap_err().contains("entry 0"));
    }

    #[test]
    fn tokenizer_json_vocab() {
        let text = r#"{"model":{"vocab":{"a":0,"Ġb":1}},
                       "added_tokens":[{"id":2,"content":"<|endoftext|>"}]}"#;
        assert_eq!(parse_tokenizer_json(text).unwrap(), ["a", "Ġb", "<|endoftext|>"]);
    }

    #[test]
    fn missing_end_of_text_is_an_error() {
        let err = ggml_token_bytes(&["a".to_string()]).unwrap_err();
        assert!(err.contains("<|endoftext|>"), "{err}");
    }
}
