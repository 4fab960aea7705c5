//! "Try it": answer an instruction with a trained model, using the exact prompt it was trained on.

use crate::model::{GenerateParams, Generation, LocalModel, generate};
use crate::prompt::try_it_prompt;
use anyhow::Result;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// Token ids of the training prompt for (instruction, input): BOS (when the model has one) and
/// [`try_it_prompt`], the layout a single-turn record is trained under.
pub fn prompt_ids(model: &LocalModel, instruction: &str, input: &str) -> Result<Vec<u32>> {
    let mut ids: Vec<u32> = model.config.bos_token_id.into_iter().collect();
    ids.extend(model.encode(&try_it_prompt(instruction, input))?);
    Ok(ids)
}

/// Streams the answer of an already loaded model; `on_piece` gets each piece of text as soon as
/// it is complete. Stops at EOS, the token limit, the context limit, or when `cancel` is set.
pub fn answer_with(
    model: &LocalModel,
    instruction: &str,
    input: &str,
    params: &GenerateParams,
    on_piece: impl FnMut(&str),
    cancel: &AtomicBool,
) -> Result<Generation> {
    let ids = prompt_ids(model, instruction, input)?;
    generate(model, &ids, params, cancel, on_piece)
}

/// Loads the model in `model_dir` (a run's `model/` or a base model) and streams its answer.
pub fn answer(
    model_dir: &Path,
    instruction: &str,
    input: &str,
    params: &GenerateParams,
    on_piece: impl FnMut(&str),
    cancel: &AtomicBool,
) -> Result<Generation> {
    let model = LocalModel::load(model_dir)?;
    answer_with(&model, instruction, input, params, on_piece, cancel)
}
