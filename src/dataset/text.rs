//! The (instruction, input, response) triple: the one type every reader of a record's three texts
//! shares (heuristics, duplicates, the judge, the search index, pretraining and dev-set corpora).
//! [`RecordText`] borrows them from a [`Record`] or anything else; [`RecordTextBuf`] owns them,
//! for background threads, indexes and Alpaca files read with serde.

use super::Record;
use serde::{Deserialize, Serialize};

/// A record's three texts, borrowed. For a conversation, `output` is the last assistant turn and
/// `instruction` the user turn before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordText<'a> {
    /// c: the instruction.
    pub instruction: &'a str,
    /// z: the input (empty when unused).
    pub input: &'a str,
    /// y: the response.
    pub output: &'a str,
}

impl<'a> RecordText<'a> {
    /// The three texts in order: instruction, input, output.
    pub fn fields(&self) -> [&'a str; 3] {
        [self.instruction, self.input, self.output]
    }

    /// An owned copy.
    pub fn to_buf(&self) -> RecordTextBuf {
        RecordTextBuf { instruction: self.instruction.into(), input: self.input.into(), output: self.output.into() }
    }
}

/// A record's three texts, owned (boxed strings: two words each, for indexes of a million
/// records). Deserializes from an Alpaca record (`input` may be missing).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordTextBuf {
    /// c: the instruction.
    pub instruction: Box<str>,
    /// z: the input (empty when unused).
    #[serde(default)]
    pub input: Box<str>,
    /// y: the response.
    pub output: Box<str>,
}

impl RecordTextBuf {
    /// A triple from its three texts.
    pub fn new(instruction: &str, input: &str, output: &str) -> RecordTextBuf {
        RecordText { instruction, input, output }.to_buf()
    }

    /// The borrowed view.
    pub fn as_text(&self) -> RecordText<'_> {
        RecordText { instruction: &self.instruction, input: &self.input, output: &self.output }
    }
}

impl Record {
    /// The record's (instruction, input, response) triple, borrowed.
    pub fn text(&self) -> RecordText<'_> {
        RecordText { instruction: &self.instruction, input: &self.input, output: &self.output }
    }
}

impl From<Record> for RecordTextBuf {
    fn from(r: Record) -> RecordTextBuf {
        RecordTextBuf { instruction: r.instruction.into(), input: r.input.into(), output: r.output.into() }
    }
}
