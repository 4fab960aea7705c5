//! The registry of per-record numeric signals: the one place that says, per signal, its name, list
//! column, description, value format, which way is good, and where its value comes from. The TUI's
//! store, columns, filters (`keep<0.5`), sort, histogram and detail pane, and `sift score`'s
//! output iterate [`REGISTRY`]; code names a signal as a [`Signal`], so a misspelt one does not compile.
//!
//! Adding a signal: a [`Signal`] variant and its [`SignalDef`] at the same index of [`REGISTRY`]
//! (a test checks the order).

use super::flags::ModelFlagConfig;
use super::signals::Signals;

/// A per-record numeric signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    Keep,
    Continuation,
    Ifd,
    Ppl,
    Gain,
    Len,
    Suggest,
}

/// How a value is written in a narrow list cell (the detail pane and the histogram write every
/// value in full).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFormat {
    /// A share in 0..1, three characters: `.42`, `1.0`.
    Unit,
    /// A ratio around 1, four characters: `0.93`, `9.99`.
    Ratio,
    /// A positive amount, at most four characters: `41`, `12k`, `3M`.
    Count,
}

/// Which way a signal points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    HigherBetter,
    HigherWorse,
    /// Neither (a length).
    Neutral,
}

/// Where a signal's value comes from.
#[derive(Clone, Copy)]
pub enum Origin {
    /// Read from the judge's assessment of a scored record.
    Judge(fn(&Signals) -> f32),
    /// Computed from the record's text (instruction, input, response) alone.
    Text(fn(&str, &str, &str) -> f32),
    /// Learnt from the annotator's review decisions on this dataset ([`crate::suggest`]).
    Review,
}

/// Everything sift knows about one signal.
#[derive(Clone, Copy)]
pub struct SignalDef {
    pub signal: Signal,
    /// The name users type in filters and read in the detail pane and `sift score`'s output.
    pub name: &'static str,
    /// The list column's prefix (`q.42`).
    pub label: &'static str,
    pub description: &'static str,
    pub format: ValueFormat,
    pub direction: Direction,
    pub origin: Origin,
    /// The narrowest list (in characters) that shows the signal's column; None: no list column.
    pub column_from: Option<u16>,
    /// From which value a record counts as bad (at or above it when higher is worse, below it when
    /// higher is better), under the user's model flag thresholds; drawn red.
    pub bad: Option<fn(&ModelFlagConfig) -> f32>,
    /// From which value a record counts as good (drawn green).
    pub good: Option<f32>,
}

/// Every signal, in [`Signal`] order: the order of the detail pane, the sort cycle and the
/// list columns.
pub const REGISTRY: [SignalDef; 7] = [
    SignalDef {
        signal: Signal::Keep,
        name: "keep",
        label: "k",
        description: "the chance a curator keeps the record as it is, 0..1 (a logistic model of the judge's signals and flags, fitted on curator labels)",
        format: ValueFormat::Unit,
        direction: Direction::HigherBetter,
        origin: Origin::Judge(|s| s.keep),
        column_from: Some(60),
        bad: Some(|_| 0.4),
        good: Some(0.7),
    },
    SignalDef {
        signal: Signal::Continuation,
        name: "continuation",
        label: "c",
        description: "how much the response reads as a continuation of its input rather than an answer, 0..1",
        format: ValueFormat::Unit,
        direction: Direction::HigherWorse,
        origin: Origin::Judge(|s| s.continuation),
        column_from: Some(100),
        bad: Some(|t| t.continuation),
        good: None,
    },
    SignalDef {
        signal: Signal::Ifd,
        name: "ifd",
        label: "i",
        description: "instruction-following difficulty: response loss with the prompt over without it (1 = the prompt does not help)",
        format: ValueFormat::Ratio,
        direction: Direction::HigherWorse,
        origin: Origin::Judge(|s| s.ifd),
        column_from: Some(130),
        bad: Some(|t| t.high_ifd),
        good: None,
    },
    SignalDef {
        signal: Signal::Ppl,
        name: "ppl",
        label: "p",
        description: "the response's perplexity under the prompt template",
        format: ValueFormat::Count,
        direction: Direction::HigherWorse,
        origin: Origin::Judge(|s| s.ppl),
        column_from: Some(130),
        bad: Some(|t| t.high_ppl),
        good: None,
    },
    SignalDef {
        signal: Signal::Gain,
        name: "gain",
        label: "g",
        description: "instruction gain: how much the instruction helps predict the response beyond the input (nats)",
        format: ValueFormat::Ratio,
        direction: Direction::HigherBetter,
        origin: Origin::Judge(|s| s.instruction_gain),
        column_from: None,
        bad: None,
        good: None,
    },
    SignalDef {
        signal: Signal::Len,
        name: "len",
        label: "len",
        description: "characters of instruction, input and response",
        format: ValueFormat::Count,
        direction: Direction::Neutral,
        origin: Origin::Text(|c, z, y| (c.chars().count() + z.chars().count() + y.chars().count()) as f32),
        column_from: None,
        bad: None,
        good: None,
    },
    SignalDef {
        signal: Signal::Suggest,
        name: "suggest",
        label: "r",
        description: "the chance you would reject the record, learnt from your own decisions on this dataset, 0..1",
        format: ValueFormat::Unit,
        direction: Direction::HigherWorse,
        origin: Origin::Review,
        column_from: Some(60),
        bad: None,
        good: None,
    },
];

impl Signal {
    /// The signal the app shows when the user picked none (the histogram's default).
    pub const HEADLINE: Signal = Signal::Keep;

    /// Every signal, in registry order.
    pub fn all() -> impl Iterator<Item = Signal> {
        REGISTRY.iter().map(|d| d.signal)
    }

    /// The signals the judge computes, in registry order.
    pub fn judged() -> impl Iterator<Item = Signal> {
        Signal::all().filter(|s| matches!(s.def().origin, Origin::Judge(_)))
    }

    /// The signal's entry.
    pub fn def(self) -> &'static SignalDef {
        &REGISTRY[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The signal called `name` (as users type it).
    pub fn from_name(name: &str) -> Option<Signal> {
        REGISTRY.iter().find(|d| d.name == name).map(|d| d.signal)
    }

    /// The value in a judge assessment (None for a signal the judge does not compute).
    pub fn read(self, s: &Signals) -> Option<f32> {
        match self.def().origin {
            Origin::Judge(f) => Some(f(s)),
            Origin::Text(_) | Origin::Review => None,
        }
    }

    /// The value computed from a record's text (None for a signal that needs the judge).
    pub fn of_text(self, instruction: &str, input: &str, output: &str) -> Option<f32> {
        match self.def().origin {
            Origin::Text(f) => Some(f(instruction, input, output)),
            Origin::Judge(_) | Origin::Review => None,
        }
    }

    /// Whether `v` counts as bad under the thresholds `t`.
    pub fn is_bad(self, v: f32, t: &ModelFlagConfig) -> bool {
        let d = self.def();
        d.bad.is_some_and(|at| match d.direction {
            Direction::HigherBetter => v < at(t),
            Direction::HigherWorse => v >= at(t),
            Direction::Neutral => false,
        })
    }

    /// Whether `v` counts as good.
    pub fn is_good(self, v: f32) -> bool {
        let d = self.def();
        d.good.is_some_and(|at| match d.direction {
            Direction::HigherBetter => v >= at,
            Direction::HigherWorse => v <= at,
            Direction::Neutral => false,
        })
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The names of every signal, space-separated (for error messages and help).
pub fn names() -> String {
    REGISTRY.iter().map(|d| d.name).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_signal_order_with_unique_names() {
        for (i, d) in REGISTRY.iter().enumerate() {
            assert_eq!(d.signal as usize, i, "{} is out of place", d.name);
            assert_eq!(Signal::from_name(d.name), Some(d.signal));
            assert!(!d.description.is_empty() && !d.label.is_empty());
        }
        let mut names: Vec<&str> = REGISTRY.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
        assert_eq!(Signal::from_name("qualty"), None);
    }

    #[test]
    fn bands_follow_the_direction_and_thresholds() {
        let t = ModelFlagConfig::default();
        assert!(Signal::Keep.is_bad(0.3, &t) && !Signal::Keep.is_bad(0.5, &t));
        assert!(Signal::Keep.is_good(0.7) && !Signal::Keep.is_good(0.69));
        assert!(Signal::Ppl.is_bad(t.high_ppl, &t) && !Signal::Ppl.is_bad(t.high_ppl - 1.0, &t));
        let lenient = ModelFlagConfig { continuation: 0.9, ..t.clone() };
        assert!(Signal::Continuation.is_bad(0.6, &t) && !Signal::Continuation.is_bad(0.6, &lenient));
        assert!(!Signal::Len.is_bad(1e9, &t) && !Signal::Gain.is_bad(-5.0, &t));
        assert_eq!(Signal::Len.of_text("ab", "", "çd"), Some(4.0));
        assert!(matches!(Signal::Len.def().origin, Origin::Text(_)));
        assert_eq!(Signal::judged().count(), 5);
    }
}
