//! The Chinese + English analyzer shared by indexing, querying, highlighting and keyword rules.
//!
//! Text is split into runs: Han runs are segmented by jieba (its dictionary is compiled into the
//! binary by `jieba-rs`, nothing is downloaded), other letter/digit runs are words, lower-cased.
//! Everything else (spaces, punctuation) separates tokens.
//!
//! Positions count *units*: one per Han character and one per non-Han word. Indexing uses
//! jieba's search mode, which also emits the dictionary words inside a long word (投诉电话 →
//! 投诉, 电话, 投诉电话), each at the position of its first character, so a phrase query built from
//! the coarser query-mode segmentation lines up whichever way the indexed text was cut. This
//! module must never panic on any input text and never emit a token longer than
//! [`MAX_TOKEN_CHARS`] (longer runs, such as base64 blobs, are skipped).

use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Longest word kept, in characters.
pub const MAX_TOKEN_CHARS: usize = 64;

/// The name the analyzer is registered under in the index.
pub const ANALYZER_NAME: &str = "hotline_zh_en";

/// How finely Han text is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Words plus the dictionary words inside them (for the index: better recall).
    Index,
    /// Words only (for queries: a phrase is its coarsest reading).
    Query,
}

/// The dictionary is ~5 MB and takes a moment to load: one per process, shared, immutable.
fn shared_jieba() -> Arc<Jieba> {
    static JIEBA: OnceLock<Arc<Jieba>> = OnceLock::new();
    JIEBA.get_or_init(|| Arc::new(Jieba::new())).clone()
}

fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF | 0x2A700..=0x2EBEF | 0x30000..=0x3134F)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_han(c)
}

/// Splits `text` into tokens with byte offsets and unit positions, sorted by position.
pub fn analyse(text: &str, mode: Mode) -> Vec<Token> {
    let jieba = shared_jieba();
    let mut tokens = Vec::new();
    let mut unit = 0usize;
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        let class: fn(char) -> bool = if is_han(c) {
            is_han
        } else if is_word_char(c) {
            is_word_char
        } else {
            chars.next();
            continue;
        };
        let mut end = start;
        let mut run_chars = 0usize;
        while let Some(&(i, c)) = chars.peek() {
            if !class(c) {
                break;
            }
            end = i + c.len_utf8();
            run_chars += 1;
            chars.next();
        }
        let run = &text[start..end];
        if is_han(c) {
            push_han_run(&jieba, run, start, unit, mode, &mut tokens);
            unit += run_chars;
        } else {
            if run_chars <= MAX_TOKEN_CHARS {
                tokens.push(token(run.to_lowercase(), start, end, unit));
            }
            unit += 1;
        }
    }
    tokens.sort_by_key(|t| (t.position, t.offset_from, t.offset_to));
    tokens.dedup_by(|a, b| a.position == b.position && a.text == b.text);
    tokens
}

fn push_han_run(jieba: &Jieba, run: &str, run_byte: usize, run_unit: usize, mode: Mode, out: &mut Vec<Token>) {
    let words = match mode {
        Mode::Index => jieba.cut_for_search(run, true),
        Mode::Query => jieba.cut(run, true),
    };
    for w in words {
        if w.end - w.start <= MAX_TOKEN_CHARS {
            out.push(token(w.word.to_owned(), run_byte + w.byte_start, run_byte + w.byte_end, run_unit + w.start));
        }
    }
}

fn token(text: String, offset_from: usize, offset_to: usize, position: usize) -> Token {
    Token { offset_from, offset_to, position, text, position_length: 1 }
}

/// The tantivy side of the analyzer (index mode).
#[derive(Clone, Default)]
pub struct MixedTokenizer {
    buffer: Vec<Token>,
}

/// Tokens of one text, handed to tantivy one by one.
pub struct MixedTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    next: usize,
}

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = MixedTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MixedTokenStream<'a> {
        self.buffer = analyse(text, Mode::Index);
        MixedTokenStream { tokens: &mut self.buffer, next: 0 }
    }
}

impl TokenStream for MixedTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, mode: Mode) -> Vec<(String, usize)> {
        analyse(text, mode).into_iter().map(|t| (t.text, t.position)).collect()
    }

    #[test]
    fn chinese_sentence_is_cut_into_words_with_character_positions() {
        let w = words("我要投诉你们的退款流程", Mode::Query);
        assert!(w.contains(&("投诉".to_owned(), 2)), "{w:?}");
        assert!(w.contains(&("退款".to_owned(), 7)), "{w:?}");
    }

    #[test]
    fn english_is_lower_cased_and_split_on_punctuation() {
        assert_eq!(
            words("I want a REFUND, now!", Mode::Query),
            vec![("i".into(), 0), ("want".into(), 1), ("a".into(), 2), ("refund".into(), 3), ("now".into(), 4)]
        );
    }

    #[test]
    fn mixed_text_keeps_byte_offsets_for_highlighting() {
        let text = "订单123要refund";
        for t in analyse(text, Mode::Index) {
            assert_eq!(&text[t.offset_from..t.offset_to].to_lowercase(), &t.text);
        }
    }

    #[test]
    fn index_mode_also_emits_the_words_inside_a_long_word() {
        let w = words("中华人民共和国", Mode::Index);
        assert!(w.contains(&("中华人民共和国".to_owned(), 0)) && w.contains(&("人民".to_owned(), 2)), "{w:?}");
    }

    #[test]
    fn overlong_runs_are_skipped_but_still_take_a_position() {
        let blob = "a".repeat(MAX_TOKEN_CHARS + 1);
        assert_eq!(words(&format!("{blob} refund"), Mode::Index), vec![("refund".into(), 1)]);
    }
}
