//! Flags raised from the model's signals, each with a reason that says why, merged with the
//! model-free heuristic flags into one assessment per record.

use super::signals::{ContinuationWeights, KeepWeights, ModelSignals, Signals, copy_then_extend};
use crate::quality::heuristics::Flag;
use serde::{Deserialize, Serialize};

/// Thresholds of the model flags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelFlagConfig {
    /// `continuation`: continuation score at or above this.
    pub continuation: f32,
    /// `high_ifd`: Cherry IFD at or above this (1 = the instruction does not help at all).
    pub high_ifd: f32,
    /// `high_ppl`: response perplexity under the template at or above this.
    pub high_ppl: f32,
    /// `repetitive`: share of repeated 4-grams or lines at or above this.
    pub repetitive: f32,
    /// Model flags that are raised. By default those that meet the precision contract on the curator
    /// labels ([`crate::quality::precision`]); the others stay signals to sort and filter by.
    pub enabled: Vec<String>,
}

impl Default for ModelFlagConfig {
    fn default() -> Self {
        ModelFlagConfig {
            continuation: 0.5,
            high_ifd: 1.0,
            high_ppl: 200.0,
            repetitive: 0.3,
            enabled: MODEL_FLAGS
                .into_iter()
                .filter(|n| crate::quality::precision::on_by_default(n))
                .map(String::from)
                .collect(),
        }
    }
}

impl ModelFlagConfig {
    /// The default thresholds with every model flag enabled, as the precision bench measures them.
    pub fn all_enabled() -> Self {
        ModelFlagConfig { enabled: MODEL_FLAGS.map(String::from).to_vec(), ..ModelFlagConfig::default() }
    }
}

/// Names of the model flags, in display order.
pub const MODEL_FLAGS: [&str; 4] = ["continuation", "high_ifd", "high_ppl", "repetitive"];

/// A flag raised by the judge: a stable name and a one-line reason for the user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JudgeFlag {
    pub name: String,
    pub reason: String,
}

/// Everything the judge says about one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// `None` when the model did not score the record (empty response, malformed record).
    pub signals: Option<Signals>,
    /// Heuristic flags first, then tool-call flags, then model flags.
    pub flags: Vec<JudgeFlag>,
    /// For a conversation: the turn whose signals and model flags the record carries (its worst).
    #[serde(default)]
    pub turn: Option<usize>,
    /// Turns looked at but not scored as prose, and why ([`super::turns::Judgeable::notes`]).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Weights and thresholds for turning measurements into scores and flags.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JudgeConfig {
    pub continuation: ContinuationWeights,
    pub keep: KeepWeights,
    pub flags: ModelFlagConfig,
}

fn continuation_reason(s: &Signals, has_input: bool) -> String {
    let c = &s.cues;
    if copy_then_extend(c) > 0.0 {
        return format!(
            "response restates the input ({:.0}% of it word for word) and goes on with {} more words (continuation score {:.2})",
            c.input_copied * 100.0,
            c.added_words,
            s.continuation
        );
    }
    if let Some(line) = &c.prompt_line {
        return format!(
            "response goes on with the prompt's own form, \"{line}\": it continues the prompt text (continuation score {:.2})",
            s.continuation
        );
    }
    let mut parts = vec![format!("instruction gain {:.2} nats", s.instruction_gain)];
    if c.continues_numbering {
        parts.push("takes up the input's numbered sequence where it stopped".into());
    }
    if s.raw_fit > 0.0 {
        parts.push(format!("raw-continuation fit {:.2} nats below template fit", s.raw_fit));
    } else {
        parts.push(format!("raw-continuation fit {:.2} nats above template fit", -s.raw_fit));
    }
    if let Some(a) = &c.anaphor {
        parts.push(format!("starts with '{a}'"));
    } else if c.continues_input {
        parts.push("carries on the input's unfinished sentence".into());
    } else if c.starts_lowercase {
        parts.push("starts mid-sentence".into());
    }
    let what = if has_input { "the input" } else { "the instruction text" };
    format!("response reads as a continuation of {what} (score {:.2}): {}", s.continuation, parts.join(", "))
}

/// Model flags for `signals` under `cfg`.
/// None where the model does not cover the response ([`Signals::uncovered`]).
pub fn model_flags(m: &ModelSignals, s: &Signals, has_input: bool, cfg: &ModelFlagConfig) -> Vec<JudgeFlag> {
    let mut out = Vec::new();
    if s.uncovered.is_some() {
        return out;
    }
    let on = |name: &str| cfg.enabled.iter().any(|e| e == name);
    let mut push = |name: &str, reason: String| {
        if on(name) {
            out.push(JudgeFlag { name: name.into(), reason })
        }
    };
    if s.continuation >= cfg.continuation {
        push("continuation", continuation_reason(s, has_input));
    }
    if s.ifd >= cfg.high_ifd {
        // The same two losses `signals::ifd` divides, so the quoted numbers give the quoted ratio.
        push(
            "high_ifd",
            format!(
                "the instruction does not help predict the response: IFD {:.2} (at or above {:.2}) = mean loss {:.3} nats with the prompt / {:.3} without it, over the same response tokens",
                s.ifd, cfg.high_ifd, m.nll_cz_ifd, m.nll_y
            ),
        );
    }
    if s.ppl >= cfg.high_ppl {
        push(
            "high_ppl",
            format!(
                "the model finds the response unlikely: perplexity {:.0} (at or above {:.0}) over the whole response",
                s.ppl, cfg.high_ppl
            ),
        );
    }
    if s.repetition >= cfg.repetitive {
        push("repetitive", format!("{:.0}% of the response repeats earlier phrases or lines", s.repetition * 100.0));
    }
    out
}

/// The keep score's `heuristic_flags` feature: how many per-record model-free flags the record
/// raises with every kind on. The user's `[flags]` config does not move the score, and the bench that
/// fits the weights (`keep_score`) computes the feature with this same function.
pub fn keep_flag_count(text: &crate::dataset::RecordText) -> usize {
    use crate::quality::heuristics::{FlagConfig, Flagger};
    static CFG: std::sync::LazyLock<FlagConfig> = std::sync::LazyLock::new(FlagConfig::all_enabled);
    static FLAGGER: std::sync::LazyLock<Flagger<'static>> = std::sync::LazyLock::new(|| Flagger::new(&CFG));
    FLAGGER.flag(text).len()
}

/// Merges heuristic flags and (when the record was scored) the model's signals and flags.
pub fn assess(
    m: Option<&ModelSignals>,
    text: &crate::dataset::RecordText,
    heuristic: &[Flag],
    cfg: &JudgeConfig,
) -> Assessment {
    let mut flags: Vec<JudgeFlag> =
        heuristic.iter().map(|f| JudgeFlag { name: f.kind.name().into(), reason: f.reason.clone() }).collect();
    let signals = m.map(|m| {
        let s = Signals::derive(
            m,
            text.instruction,
            text.input,
            text.output,
            keep_flag_count(text),
            &cfg.continuation,
            &cfg.keep,
        );
        flags.extend(model_flags(m, &s, !text.input.trim().is_empty(), &cfg.flags));
        s
    });
    Assessment { signals, flags, turn: None, notes: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::MODEL_FLAGS;
    use crate::quality::heuristics::FlagKind;

    #[test]
    fn every_precision_table_row_is_a_known_flag_and_consistent() {
        for m in crate::quality::precision::MEASURED {
            assert!(m.right <= m.fires, "{}", m.name);
            let known = FlagKind::from_name(m.name).is_some() || MODEL_FLAGS.contains(&m.name);
            assert!(known, "{} is no flag", m.name);
        }
    }
}
