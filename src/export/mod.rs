//! Export a selection of reviewed records for training, and hand it to existing trainers (TRL, axolotl,
//! LLaMA-Factory) with a config, a `launch.sh` (single GPU, multi-GPU, multi-node) and a manifest.
//!
//! The data written is decoded from each record's turn list, so it is exactly what sift shows. Records
//! that cannot be exported are never dropped silently: malformed records (not JSON), records with field
//! problems (what `sift check` lists) and records the target cannot represent are counted, listed in
//! the summary and in `sift_export.json`.

pub mod cluster;
pub mod configs;
pub mod rows;
pub mod shell;

use crate::dataset::{Format, Role};
use crate::session::Session;
pub use configs::ExternalHyper;
use configs::{ConfigVars, LfLayout};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// sift's version, recorded in manifests and configs.
pub const SIFT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The name of the dataset in LLaMA-Factory's `dataset_info.json`.
pub const LF_DATASET: &str = "sift_export";

pub use crate::session::Selection;

/// What to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Alpaca,
    ShareGpt,
    OpenAi,
    Trl,
    Axolotl,
    LlamaFactory,
    /// TRL KTOTrainer rows: prompt/completion with `label`.
    TrlKto,
    /// TRL DPOTrainer rows: prompt, chosen, rejected.
    TrlDpo,
}

impl Target {
    pub const ALL: [Target; 8] = [
        Target::Alpaca,
        Target::ShareGpt,
        Target::OpenAi,
        Target::Trl,
        Target::Axolotl,
        Target::LlamaFactory,
        Target::TrlKto,
        Target::TrlDpo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Alpaca => "alpaca",
            Target::ShareGpt => "sharegpt",
            Target::OpenAi => "openai",
            Target::Trl => "trl",
            Target::Axolotl => "axolotl",
            Target::LlamaFactory => "llamafactory",
            Target::TrlKto => "trl-kto",
            Target::TrlDpo => "trl-dpo",
        }
    }

    /// Whether the target holds fine-tuning (SFT) rows, which an undesirable (KTO `false`) record
    /// must never become.
    pub fn is_sft(self) -> bool {
        !matches!(self, Target::TrlKto | Target::TrlDpo)
    }

    pub fn from_name(s: &str) -> Option<Target> {
        let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
        Target::ALL.into_iter().find(|t| norm(t.name()) == norm(s))
    }

    /// The trainer a directory export hands to: TRL for prompt/completion, axolotl for OpenAI
    /// messages (it honours `weight: 0`), LLaMA-Factory for Alpaca (system + history) and ShareGPT.
    pub fn trainer(self) -> ExternalTrainer {
        match self {
            Target::Trl | Target::TrlKto | Target::TrlDpo => ExternalTrainer::Trl,
            Target::OpenAi | Target::Axolotl => ExternalTrainer::Axolotl,
            Target::Alpaca | Target::ShareGpt | Target::LlamaFactory => ExternalTrainer::LlamaFactory,
        }
    }

    /// Whether `--out` is always a folder (axolotl, llamafactory) rather than a data file.
    pub fn always_dir(self) -> bool {
        matches!(self, Target::Axolotl | Target::LlamaFactory)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A trainer sift writes configs for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExternalTrainer {
    Trl,
    Axolotl,
    LlamaFactory,
}

impl ExternalTrainer {
    pub fn name(self) -> &'static str {
        match self {
            ExternalTrainer::Trl => "trl",
            ExternalTrainer::Axolotl => "axolotl",
            ExternalTrainer::LlamaFactory => "llamafactory",
        }
    }

    /// The target whose data this trainer reads natively.
    pub fn target(self) -> Target {
        match self {
            ExternalTrainer::Trl => Target::Trl,
            ExternalTrainer::Axolotl => Target::Axolotl,
            ExternalTrainer::LlamaFactory => Target::LlamaFactory,
        }
    }
}

/// An export to make.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub selection: Selection,
    pub target: Target,
    /// A data file, or a run folder (see [`ExportRequest::is_dir`]).
    pub out: PathBuf,
    /// Base model id or path; makes `out` a run folder.
    pub base_model: Option<String>,
    /// Template override (LLaMA-Factory `template`, axolotl `chat_template`).
    pub template: Option<String>,
    /// Epochs, learning rate and the rest, for the trainer's config.
    pub hyper: ExternalHyper,
}

impl ExportRequest {
    pub fn new(selection: Selection, target: Target, out: impl Into<PathBuf>) -> ExportRequest {
        ExportRequest {
            selection,
            target,
            out: out.into(),
            base_model: None,
            template: None,
            hyper: ExternalHyper::default(),
        }
    }

    /// Whether `out` is a run folder (data + config + launch.sh + manifest) rather than a data file.
    pub fn is_dir(&self) -> bool {
        self.target.always_dir() || self.base_model.is_some()
    }
}

/// A record that was selected but not written, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// 0-based position in the dataset.
    pub index: usize,
    pub reason: String,
}

/// What an export did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExportSummary {
    pub selected: usize,
    pub written: usize,
    /// Not valid JSON objects: never exported.
    pub skipped_malformed: Vec<Skipped>,
    /// Readable, but with field problems (`sift check` lists them): fix them first.
    pub skipped_invalid: Vec<Skipped>,
    /// Valid, but the target cannot represent them (e.g. a conversation that does not alternate
    /// user/assistant, for Alpaca rows or LLaMA-Factory).
    pub skipped_unrepresentable: Vec<Skipped>,
    /// Records whose turns after the last assistant turn were left out (prompt/completion only).
    pub trimmed_trailing_turns: usize,
    /// The data file written.
    pub data_file: PathBuf,
    /// The run folder, for folder exports.
    pub run_dir: Option<PathBuf>,
    /// The trainer the folder is set up for.
    pub trainer: Option<ExternalTrainer>,
    /// Every file written.
    pub files: Vec<PathBuf>,
    /// The prompt/chat template the trainer will apply.
    pub template: String,
    /// Warnings worth printing (e.g. no base model given).
    pub warnings: Vec<String>,
}

impl ExportSummary {
    /// Total records skipped for any reason.
    pub fn skipped(&self) -> usize {
        self.skipped_malformed.len() + self.skipped_invalid.len() + self.skipped_unrepresentable.len()
    }

    /// A few lines for the terminal.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "selected {}, written {}, skipped {} (malformed {}, field problems {}, not representable {})\n",
            self.selected,
            self.written,
            self.skipped(),
            self.skipped_malformed.len(),
            self.skipped_invalid.len(),
            self.skipped_unrepresentable.len()
        );
        let list = |v: &[Skipped]| v.iter().take(10).map(|k| k.index.to_string()).collect::<Vec<_>>().join(", ");
        for (what, v) in [
            ("malformed", &self.skipped_malformed),
            ("field problems", &self.skipped_invalid),
            ("not representable", &self.skipped_unrepresentable),
        ] {
            if !v.is_empty() {
                let more = if v.len() > 10 { ", ..." } else { "" };
                s.push_str(&format!("  {what}: records {}{more} ({})\n", list(v), v[0].reason));
            }
        }
        if self.trimmed_trailing_turns > 0 {
            s.push_str(&format!(
                "  {} records had turns after their last assistant turn; left out of prompt/completion\n",
                self.trimmed_trailing_turns
            ));
        }
        s.push_str(&format!("data: {}\n", self.data_file.display()));
        if let (Some(dir), Some(t)) = (&self.run_dir, self.trainer) {
            s.push_str(&format!("run folder for {}: {} (template: {})\n", t.name(), dir.display(), self.template));
            s.push_str("start it with: ./launch.sh single|multi-gpu|multi-node (inside that folder)\n");
        }
        for w in &self.warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        s
    }
}

/// Why an export failed. Nothing is left half-written in a data-file export; a folder export may
/// have written some of its files.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("{0}")]
    Refused(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ExportError {
    let context = context.into();
    move |source| ExportError::Io { context, source }
}

/// The name of the manifest in every run folder.
pub const MANIFEST_FILE: &str = "sift_export.json";

/// The trainer's output folder inside a run folder (checkpoints, `trainer_state.json`, the final weights).
pub const OUTPUT_DIR: &str = "output";

/// The manifest written as [`MANIFEST_FILE`] in every run folder.
#[derive(Serialize)]
pub struct Manifest<'a> {
    pub sift_version: &'a str,
    pub created: String,
    pub source: String,
    pub source_format: &'a str,
    pub selection: String,
    pub format: &'a str,
    pub trainer: Option<&'a str>,
    pub template: &'a str,
    pub base_model: Option<&'a str>,
    pub data_file: String,
    pub counts: ManifestCounts,
    pub skipped: Vec<&'a Skipped>,
    pub hyper: &'a ExternalHyper,
    pub prompt_masking: &'a str,
}

/// Counts in the manifest.
#[derive(Serialize)]
pub struct ManifestCounts {
    pub dataset: usize,
    pub selected: usize,
    pub written: usize,
    pub skipped_malformed: usize,
    pub skipped_invalid: usize,
    pub skipped_unrepresentable: usize,
    pub trimmed_trailing_turns: usize,
}

/// One encoded row, or why the record cannot be one.
fn encode(
    target: Target,
    trainer: Option<ExternalTrainer>,
    rec: &crate::dataset::Record,
    source: Format,
    ranking: bool,
    trimmed: &mut usize,
) -> Result<String, String> {
    if trainer == Some(ExternalTrainer::LlamaFactory) {
        rows::check_alternating(rec)?;
    }
    if target.is_sft() && rec.is_undesirable() {
        return Err("KTO label false (an undesirable response): never a fine-tuning target (use --to trl-kto)".into());
    }
    let json = |r: Result<String, serde_json::Error>| r.map_err(|e| e.to_string());
    match target {
        Target::Alpaca => json(serde_json::to_string(&rows::alpaca(rec, source)?)),
        Target::ShareGpt => json(serde_json::to_string(&rows::sharegpt(rec)?)),
        Target::LlamaFactory if ranking => json(serde_json::to_string(&rows::llamafactory_ranking(rec)?)),
        Target::LlamaFactory => json(serde_json::to_string(&rows::llamafactory(rec)?)),
        Target::OpenAi | Target::Axolotl => json(serde_json::to_string(&rows::messages(rec))),
        Target::TrlKto => json(serde_json::to_string(&rows::kto(rec)?)),
        Target::TrlDpo => json(serde_json::to_string(&rows::preference(rec)?)),
        Target::Trl => {
            let (row, cut) = rows::prompt_completion(rec)?;
            if cut > 0 {
                *trimmed += 1;
            }
            json(serde_json::to_string(&row))
        }
    }
}

/// Whether the data file is a JSON array (else JSONL).
fn writes_array(target: Target, path: &Path, dir: bool) -> bool {
    let jsonl = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
    match target {
        Target::Alpaca => !jsonl || dir,
        Target::ShareGpt => !jsonl && !dir,
        _ => false,
    }
}

fn data_file_name(target: Target) -> &'static str {
    match target {
        Target::Alpaca => "data.json",
        _ => "data.jsonl",
    }
}

/// Exports the selection. See [`ExportRequest`] for what is written where.
pub fn export(session: &Session, req: &ExportRequest) -> Result<ExportSummary, ExportError> {
    let ds = session.dataset();
    let dir_mode = req.is_dir();
    let trainer = dir_mode.then(|| req.target.trainer());
    if let Some(b) = &req.base_model {
        shell::check_no_nul("the base model", b).map_err(ExportError::Refused)?;
        if b.trim().is_empty() {
            return Err(ExportError::Refused("the base model is empty".into()));
        }
    }
    if let Some(t) = &req.template {
        shell::check_no_nul("the template", t).map_err(ExportError::Refused)?;
    }
    if dir_mode && !req.target.is_sft() {
        return Err(ExportError::Refused(format!(
            "--to {} writes a data file for TRL's {} (run folders are for fine-tuning); leave out --base",
            req.target,
            if req.target == Target::TrlKto { "KTOTrainer" } else { "DPOTrainer" }
        )));
    }
    let (run_dir, data_path) = if dir_mode {
        let dir = absolute(&req.out)?;
        if trainer == Some(ExternalTrainer::LlamaFactory) && dir.to_string_lossy().chars().any(char::is_whitespace) {
            return Err(ExportError::Refused(format!(
                "LLaMA-Factory splits its launcher arguments on spaces, so its run folder must have none: \
                 `{}` has whitespace; choose another --out (e.g. `{}`)",
                dir.display(),
                suggest_no_space(&dir).display()
            )));
        }
        if dir.exists() && !dir.is_dir() {
            return Err(ExportError::Refused(format!("{} exists and is not a folder", dir.display())));
        }
        std::fs::create_dir_all(&dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
        let data = dir.join(data_file_name(req.target));
        (Some(dir), data)
    } else {
        if req.out.is_dir() {
            return Err(ExportError::Refused(format!(
                "{} is a folder; without --base, --to {} writes one data file (give a file name)",
                req.out.display(),
                req.target
            )));
        }
        (None, req.out.clone())
    };

    if same_file(&data_path, ds.path()) {
        return Err(ExportError::Refused(format!(
            "{} is the dataset being exported; write the export somewhere else",
            data_path.display()
        )));
    }
    if let Some(parent) = data_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_err(format!("cannot create {}", parent.display())))?;
    }

    let mut summary = ExportSummary { trainer, run_dir: run_dir.clone(), ..Default::default() };
    let positions = req.selection.positions(session);
    summary.selected = positions.len();
    let mut encoded: Vec<String> = Vec::with_capacity(positions.len());
    let mut untrained_turns = 0;
    // Preference pairs go to LLaMA-Factory in its ranking form (`"ranking": true`, trained with DPO).
    let ranking = req.target == Target::LlamaFactory
        && positions.iter().any(|&p| ds.record(p).is_some_and(|r| r.preference.is_some()));
    for &pos in &positions {
        let Some(dec) = ds.decoded(pos) else {
            summary.skipped_malformed.push(Skipped { index: pos, reason: "not a valid JSON object".into() });
            continue;
        };
        if !dec.issues.is_empty() {
            let reason = dec.issues.iter().map(|i| i.message.as_str()).collect::<Vec<_>>().join("; ");
            summary.skipped_invalid.push(Skipped { index: pos, reason });
            continue;
        }
        let lone = crate::dataset::json::lone_surrogates(ds.raw(pos));
        if lone > 0 {
            let reason = format!("{lone} lone UTF-16 surrogate escapes (like \\ud800): not Unicode text");
            summary.skipped_unrepresentable.push(Skipped { index: pos, reason });
            continue;
        }
        match encode(req.target, trainer, &dec.record, ds.format(), ranking, &mut summary.trimmed_trailing_turns) {
            Ok(row) => {
                untrained_turns +=
                    usize::from(dec.record.turns.iter().any(|t| t.role == Role::Assistant && !t.trained));
                encoded.push(row)
            }
            Err(reason) => summary.skipped_unrepresentable.push(Skipped { index: pos, reason }),
        }
    }
    summary.written = encoded.len();
    let lf_columns = if trainer == Some(ExternalTrainer::LlamaFactory) && req.target == Target::LlamaFactory {
        uniform_columns(&mut encoded)
    } else {
        Vec::new()
    };
    if ranking && run_dir.is_none() {
        summary.warnings.push(
            "wrote LLaMA-Factory ranking rows (messages + chosen + rejected): register the file in dataset_info.json \
             with \"ranking\": true and columns messages/chosen/rejected, and train with stage: dpo (--base writes \
             both)"
                .into(),
        );
    }
    if trainer == Some(ExternalTrainer::LlamaFactory) && untrained_turns > 0 && !ranking {
        summary.warnings.push(format!(
            "{untrained_turns} exported records have assistant turns marked not trained (weight 0 / history); \
             LLaMA-Factory trains every assistant turn (set `mask_history: true` in train.yaml to train only the last)"
        ));
    }

    // The data file.
    let array = writes_array(req.target, &data_path, dir_mode);
    let bytes = if array { render_array(&encoded, req.target == Target::Alpaca) } else { render_jsonl(&encoded) };
    write_file(&data_path, &bytes)?;
    summary.data_file = data_path.clone();
    summary.files.push(data_path.clone());
    summary.template = template_for(req, trainer);

    let Some(dir) = run_dir else { return Ok(summary) };
    let trainer = trainer.expect("folder exports have a trainer");
    let data_name = data_file_name(req.target);
    let base = req.base_model.clone().unwrap_or_else(|| {
        summary
            .warnings
            .push(format!("no --base given: set the base model in {} before launching", configs::config_name(trainer)));
        shell::BASE_PLACEHOLDER.to_string()
    });
    let context = req.base_model.as_deref().and_then(configs::base_context);
    let max_len = match (req.hyper.max_len, context) {
        (Some(n), Some(c)) if n > c => {
            summary.warnings.push(format!("--max-len {n} exceeds the base model's {c} positions"));
            n
        }
        (Some(n), _) => n,
        (None, Some(c)) => c,
        (None, None) => configs::FALLBACK_MAX_LEN,
    };
    let resolved = ExternalHyper { max_len: Some(max_len), ..req.hyper.clone() };
    let vars = ConfigVars {
        base_model: &base,
        data: data_name,
        output_dir: OUTPUT_DIR,
        hyper: &req.hyper,
        max_len,
        template: &summary.template,
        sift_version: SIFT_VERSION,
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    match trainer {
        ExternalTrainer::Trl => {
            files.push(("sft.yaml".into(), configs::trl_sft_yaml(&vars).into_bytes()));
            files.push(("accelerate_zero3.yaml".into(), configs::ACCELERATE_ZERO3.as_bytes().to_vec()));
            files.push(("accelerate_fsdp2.yaml".into(), configs::ACCELERATE_FSDP2.as_bytes().to_vec()));
        }
        ExternalTrainer::Axolotl => {
            let config = configs::axolotl_config(&vars);
            files.push(("config_fsdp2.yml".into(), format!("{config}{}", configs::AXOLOTL_FSDP2).into_bytes()));
            files.push(("config.yml".into(), config.into_bytes()));
            files.push(("deepspeed_zero3.json".into(), pretty(&configs::deepspeed_zero3())));
        }
        ExternalTrainer::LlamaFactory => {
            let layout = match req.target {
                Target::Alpaca => LfLayout::Alpaca,
                Target::ShareGpt => LfLayout::ShareGpt,
                _ => LfLayout::Messages,
            };
            let mut info = configs::llamafactory_dataset_info(LF_DATASET, data_name, layout);
            if let Some(entry) = info.get_mut(LF_DATASET).filter(|_| layout == LfLayout::Messages) {
                entry["tags"]["function_tag"] = "function_call".into();
                entry["tags"]["observation_tag"] = "observation".into();
                for c in &lf_columns {
                    entry["columns"][c.as_str()] = c.as_str().into();
                }
                if ranking {
                    entry["ranking"] = true.into();
                    entry["columns"]["chosen"] = "chosen".into();
                    entry["columns"]["rejected"] = "rejected".into();
                }
            }
            files.push(("dataset_info.json".into(), pretty(&info)));
            let mut config = configs::llamafactory_train_yaml(&vars, LF_DATASET);
            if ranking {
                config = config.replacen("stage: sft\n", "stage: dpo\npref_beta: 0.1\npref_loss: sigmoid\n", 1);
            }
            files.push(("train_fsdp2.yaml".into(), format!("{config}{}", configs::LLAMAFACTORY_FSDP2).into_bytes()));
            files.push(("train.yaml".into(), config.into_bytes()));
            files.push(("ds_z3_config.json".into(), pretty(&configs::deepspeed_zero3())));
        }
    }
    let exported_to = dir.to_string_lossy().into_owned();
    let script = shell::launch_script(&shell::LaunchVars {
        trainer,
        exported_to: &exported_to,
        config: configs::config_name(trainer),
        data: data_name,
        base_model: &base,
        output_dir: OUTPUT_DIR,
        sift_version: SIFT_VERSION,
    });
    files.push(("launch.sh".into(), script.into_bytes()));

    let source = ds.path().canonicalize().unwrap_or_else(|_| ds.path().to_path_buf());
    let all_skipped: Vec<&Skipped> = summary
        .skipped_malformed
        .iter()
        .chain(&summary.skipped_invalid)
        .chain(&summary.skipped_unrepresentable)
        .collect();
    let manifest = Manifest {
        sift_version: SIFT_VERSION,
        created: utc_timestamp(std::time::SystemTime::now()),
        source: source.to_string_lossy().into_owned(),
        source_format: ds.format().name(),
        selection: req.selection.to_string(),
        format: req.target.name(),
        trainer: Some(trainer.name()),
        template: &summary.template,
        base_model: req.base_model.as_deref(),
        data_file: data_name.to_string(),
        counts: ManifestCounts {
            dataset: ds.len(),
            selected: summary.selected,
            written: summary.written,
            skipped_malformed: summary.skipped_malformed.len(),
            skipped_invalid: summary.skipped_invalid.len(),
            skipped_unrepresentable: summary.skipped_unrepresentable.len(),
            trimmed_trailing_turns: summary.trimmed_trailing_turns,
        },
        skipped: all_skipped,
        hyper: &resolved,
        prompt_masking: masking(trainer),
    };
    files.push((MANIFEST_FILE.into(), pretty(&manifest)));

    for (name, bytes) in files {
        let path = dir.join(&name);
        write_file(&path, &bytes)?;
        if name == "launch.sh" {
            make_executable(&path)?;
        }
        summary.files.push(path);
    }
    Ok(summary)
}

/// Gives every LLaMA-Factory row the same optional columns (`system`, `tools`, media lists; empty
/// where a record has none), so the loader sees one schema; returns the columns present.
fn uniform_columns(rows: &mut [String]) -> Vec<String> {
    use serde_json::Value;
    let optional = ["system", "tools", "images", "videos", "audios"];
    let mut parsed: Vec<Value> = rows.iter().map(|r| serde_json::from_str(r).expect("rows are JSON")).collect();
    let present: Vec<String> =
        optional.iter().filter(|k| parsed.iter().any(|v| v.get(**k).is_some())).map(|k| k.to_string()).collect();
    if present.is_empty() {
        return present;
    }
    for (row, v) in rows.iter_mut().zip(&mut parsed) {
        for k in &present {
            if v.get(k).is_none() {
                let empty =
                    if matches!(k.as_str(), "system" | "tools") { Value::from("") } else { Value::Array(vec![]) };
                v[k.as_str()] = empty;
            }
        }
        *row = v.to_string();
    }
    present
}

fn masking(t: ExternalTrainer) -> &'static str {
    match t {
        ExternalTrainer::Trl => "TRL prompt/completion: loss on the completion only (completion_only_loss: true)",
        ExternalTrainer::Axolotl => {
            "axolotl train_on_inputs: false, roles_to_train: [assistant], message_field_training: weight"
        }
        ExternalTrainer::LlamaFactory => "LLaMA-Factory train_on_prompt: false (every assistant turn is trained)",
    }
}

/// The template recorded in the config and manifest.
fn template_for(req: &ExportRequest, trainer: Option<ExternalTrainer>) -> String {
    if let Some(t) = &req.template {
        return t.clone();
    }
    match (trainer, req.target) {
        (Some(ExternalTrainer::LlamaFactory), _) => {
            configs::guess_llamafactory_template(req.base_model.as_deref().unwrap_or("")).to_string()
        }
        (Some(ExternalTrainer::Axolotl), _) if req.base_model.as_deref().is_some_and(configs::is_sift_checkpoint) => {
            "tokenizer_default".into()
        }
        (Some(ExternalTrainer::Axolotl), _) => "tokenizer_default_fallback_chatml".into(),
        (Some(ExternalTrainer::Trl), _) => "tokenizer chat template".into(),
        (None, Target::Alpaca) => "alpaca".into(),
        (None, _) => "none (chat messages: the trainer applies the model's chat template)".into(),
    }
}

fn pretty<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).expect("JSON values serialise");
    out.push(b'\n');
    out
}

fn render_jsonl(rows: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.iter().map(|r| r.len() + 1).sum());
    for r in rows {
        out.extend_from_slice(r.as_bytes());
        out.push(b'\n');
    }
    out
}

/// A JSON array; Alpaca with 4-space indentation (like the Stanford release), others compact rows.
fn render_array(rows: &[String], indent4: bool) -> Vec<u8> {
    if rows.is_empty() {
        return b"[]\n".to_vec();
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"[\n");
    for (n, r) in rows.iter().enumerate() {
        if indent4 {
            let v: serde_json::Value = serde_json::from_str(r).expect("rows are JSON");
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            // Re-serialising a Value would sort keys: keep the row's own key order instead.
            serde::Serialize::serialize(&OrderedRow(r, &v), &mut ser).expect("rows serialise");
            for (k, line) in buf.split(|&c| c == b'\n').enumerate() {
                if k > 0 {
                    out.push(b'\n');
                }
                out.extend_from_slice(b"    ");
                out.extend_from_slice(line);
            }
        } else {
            out.extend_from_slice(b"    ");
            out.extend_from_slice(r.as_bytes());
        }
        out.extend_from_slice(if n + 1 < rows.len() { b",\n" } else { b"\n" });
    }
    out.extend_from_slice(b"]\n");
    out
}

/// Serialises a compact JSON object row with its keys in their original order.
struct OrderedRow<'a>(&'a str, &'a serde_json::Value);

impl serde::Serialize for OrderedRow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let keys = crate::dataset::format::top_level_keys(self.0.as_bytes());
        let obj = self.1.as_object().expect("rows are objects");
        let mut m = s.serialize_map(Some(keys.len()))?;
        for k in &keys {
            m.serialize_entry(k, &obj[k])?;
        }
        m.end()
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    use crate::dataset::save::SaveError;
    if path.as_os_str() == "-" {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        return out.write_all(bytes).and_then(|()| out.flush()).map_err(io_err("cannot write to standard output"));
    }
    crate::dataset::save::write_atomic(path, bytes).map(|_| ()).map_err(|e| match e {
        SaveError::Io { path, source } => ExportError::Io { context: format!("cannot write {path}"), source },
        other => ExportError::Refused(other.to_string()),
    })
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), ExportError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(io_err(format!("cannot make {} executable", path.display())))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<(), ExportError> {
    Ok(())
}

/// Whether `a` and `b` name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn absolute(p: &Path) -> Result<PathBuf, ExportError> {
    std::path::absolute(p).map_err(io_err(format!("cannot resolve {}", p.display())))
}

fn suggest_no_space(p: &Path) -> PathBuf {
    let s: String = p.to_string_lossy().chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
    PathBuf::from(s)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for `t` (UTC).
pub fn utc_timestamp(t: std::time::SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = crate::utc::parts(crate::utc::unix(t));
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        let t = |s| utc_timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(t(0), "1970-01-01T00:00:00Z");
        assert_eq!(t(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(t(1_798_761_599), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn targets_parse() {
        for t in Target::ALL {
            assert_eq!(Target::from_name(t.name()), Some(t));
        }
        assert_eq!(Target::from_name("LLaMA-Factory"), Some(Target::LlamaFactory));
        assert_eq!(Target::from_name("share_gpt"), Some(Target::ShareGpt));
    }
}
