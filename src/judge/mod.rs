//! The judge: a small local language model reads every (instruction c, input z, response y) record and
//! says which responses are low quality or merely continue their input instead of answering, and why.
//!
//! [`crate::prompt`] lays out the prompt, [`engine`] measures the response's token losses under four contexts
//! (cached in [`cache`]), [`signals`] derives IFD, instruction gain, continuation and keep from them
//! and from the text cues of [`cues`],
//! [`flags`] turns those into flags with reasons, [`turns`] splits a conversation into its assistant
//! turns (each scored with its history) and gives the record its worst turn's verdict, [`signal_registry`] lists the per-record signals the
//! TUI and `sift score` show, and [`devset`] builds the continuation dev set.
//!
//! Definitions (natural log; `s(y|x)` = mean NLL of the response tokens `tok(y)` appended to
//! `[BOS] + tok(x)`, prompt tokens masked, no EOS; `tok(y)` is the same under every context):
//!
//! | signal | definition |
//! |---|---|
//! | `nll_cz` | `s(y | template(c, z))`, Stanford Alpaca by default, over the whole response |
//! | `nll_cz_ifd` | the same over the tokens IFD compares: the whole response by default (`compare_tokens` 0) |
//! | `nll_cz_head` | the same over the first `context_tokens` (32), which `nll_z`, `nll_y_head` and `nll_raw` score |
//! | `nll_z` | `s(y | z + "\n\n")` (= `nll_y_head` when `z` is empty) |
//! | `nll_y` | `s(y | alone)`: Alpaca's bare `### Response:` header after BOS, as Cherry LLM scores it; `nll_y_head` over the first tokens |
//! | `nll_raw` | `s(y | c + "\n\n" + z + "\n")`, plain text |
//! | `ppl` | `exp(nll_cz)` |
//! | `ifd` | Cherry LLM's IFD, ratio of mean losses `nll_cz_ifd / nll_y` over the whole response (`ifd_ppl`: Superfiltering's `exp(nll_cz_ifd - nll_y)`) |
//! | `instruction_gain` | `nll_z - nll_cz_head` |
//! | `raw_fit` | `nll_cz_head - nll_raw` (> 0: plain continuation fits better than the template) |
//! | `first_tokens_raw_fit` | the same over the first 16 response tokens |
//! | `repetition` | max(share of repeated word 4-grams, share of repeated lines) |
//! | `continuation` | `sigmoid(bias + w · features)`, see [`signals::continuation_features`] |
//! | `keep` | P(a curator keeps the record as is): logistic in the signals and flags, fitted on curator labels, see [`signals::KeepWeights`] |
//! | `uncovered` | set when the model's tokenizer does not know the response's script: the model flags are then not raised |

pub mod cache;
pub mod cues;
pub mod devset;
pub mod engine;
pub mod flags;
pub mod signal_registry;
pub mod signals;
pub mod turns;

pub use crate::prompt::Template;
pub use cache::{CacheKey, ScoreCache, content_hash};
pub use engine::{Engine, EngineOptions, ScoreEvent, ScoreItem, ScoreOutcome, spawn};
pub use flags::{Assessment, JudgeConfig, JudgeFlag, ModelFlagConfig, assess};
pub use signal_registry::{Signal, SignalDef};
pub use signals::{ContinuationWeights, KeepWeights, ModelSignals, Signals, SurfaceCues};
pub use turns::{Judgeable, assess_record, judgeable};

use anyhow::Result;
use std::path::Path;

/// The judge the CLI and the TUI score with: the model in `model` (else
/// [`crate::paths::default_model_dir`]) under
/// the template named `template`, with `opts`.
pub fn load_engine(model: Option<&Path>, template: &str, opts: EngineOptions) -> Result<Engine> {
    let dir = match model {
        Some(d) => d.to_path_buf(),
        None => crate::paths::default_model_dir()?,
    };
    let m = crate::model::LocalModel::load(&dir)?;
    let template = Template::from_name(template, Some(&dir))?;
    Engine::new(m, template, opts)
}
