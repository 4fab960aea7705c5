//! The command line: `sift FILE` opens the TUI; subcommands script the same engine.

mod data;
mod export;
pub mod score;
pub mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Curate instruction-tuning data: browse, fix, judge with a small local model, train on the selection.
#[derive(Parser, Debug)]
#[command(name = "sift", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Dataset to open in the TUI (a bundled sample when omitted).
    pub file: Option<PathBuf>,
    /// Force the dataset format instead of detecting it.
    #[arg(long, global = true, value_parser = parse_format)]
    pub format: Option<crate::dataset::Format>,
    /// Print the effective configuration (config.toml merged over the defaults) as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Judge model directory for scoring in the TUI; default: $SIFT_MODEL, then the bundled model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Format, record count, field lengths, duplicates and review counts.
    Stats {
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List problems as `line N: ...`; exit 1 when there are any.
    Check {
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set the review status, tags or note of a record.
    Set {
        file: PathBuf,
        /// 0-based record index.
        #[arg(long)]
        index: usize,
        /// unreviewed | accepted | rejected | needs-edit
        #[arg(long, value_parser = parse_status)]
        status: Option<crate::session::Status>,
        /// Add a tag (repeatable).
        #[arg(long)]
        tag: Vec<String>,
        /// Remove a tag (repeatable).
        #[arg(long)]
        untag: Vec<String>,
        /// Set the note.
        #[arg(long)]
        note: Option<String>,
    },
    /// Edit one field of a record and save the file at once.
    Edit {
        file: PathBuf,
        /// 0-based record index.
        #[arg(long)]
        index: usize,
        /// instruction | input | output | system | turn:N
        #[arg(long, value_parser = parse_field)]
        field: crate::dataset::Field,
        /// The new text.
        #[arg(long)]
        value: String,
        /// Overwrite even if the file changed on disk since it was read.
        #[arg(long)]
        force: bool,
    },
    /// Apply commands from stdin, one per line (status N S, tag N T, untag N T, note N TEXT,
    /// edit N FIELD TEXT, insert N, duplicate N, delete N, undo, redo, save, save!); prints `ok`
    /// once each change is journaled. TEXT may be a JSON string literal.
    Batch { file: PathBuf },
    /// Export a selection for training: a data file (alpaca, sharegpt, openai, trl), or with --base
    /// (always for axolotl, llamafactory) a run folder with the trainer's config, launch.sh and a
    /// manifest. Records that cannot be exported are counted and listed.
    Export(Box<export::ExportArgs>),
    /// Judge every record with a local model: continuation, quality, IFD, perplexity and flags, one
    /// JSON object per record (in dataset order) written to --out.
    Score {
        file: PathBuf,
        /// Model directory (config.json, model.safetensors, tokenizer.json); default: $SIFT_MODEL,
        /// then the bundled model.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Prompt template: alpaca | raw | input-only | chat (the model's chat template).
        #[arg(long, default_value = "alpaca")]
        template: String,
        /// Where to write the scores (JSONL).
        #[arg(long)]
        out: PathBuf,
        /// Score only these 0-based records, e.g. `0-99,120,500-`.
        #[arg(long)]
        select: Option<String>,
        /// TOML file with judge weights and flag thresholds.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Neither read nor write the score cache.
        #[arg(long)]
        no_cache: bool,
        /// No progress on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Fine-tune a model on the selected records (progress on stderr; Ctrl-C checkpoints and stops).
    Train(Box<TrainArgs>),
    /// Build a small Llama from scratch on an Alpaca corpus (tokenizer, training, f16 HF model dir).
    Pretrain(Box<PretrainArgs>),
}

/// Arguments of `sift pretrain`.
#[derive(clap::Args, Debug)]
pub struct PretrainArgs {
    /// Alpaca JSON array (records with index % 20 == 0 are held out for validation).
    #[arg(long)]
    pub corpus: PathBuf,
    /// Output model directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Work directory for checkpoints and metrics (default: OUT-run).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training time budget in minutes (the step count is fixed after the first steps to fit it).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Optimizer steps (deterministic for a seed; one epoch when neither this nor --minutes is given).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Use only the first N corpus records.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value_t = 8000)]
    pub vocab: usize,
    #[arg(long, default_value_t = 320)]
    pub hidden: usize,
    #[arg(long, default_value_t = 6)]
    pub layers: usize,
    #[arg(long, default_value_t = 5)]
    pub heads: usize,
    #[arg(long, default_value_t = 5)]
    pub kv_heads: usize,
    #[arg(long, default_value_t = 864)]
    pub intermediate: usize,
    /// Context length in tokens.
    #[arg(long, default_value_t = 512)]
    pub context: usize,
    /// Documents per step.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 500)]
    pub eval_every: usize,
    /// Continue from the work directory's checkpoint.
    #[arg(long)]
    pub resume: bool,
}

/// Arguments of `sift train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The dataset.
    pub file: PathBuf,
    /// accepted | all | rejected | unreviewed | needs-edit
    #[arg(long, default_value = "accepted", value_parser = parse_selection)]
    pub select: crate::session::Selection,
    /// Base model directory (HF format); the bundled default model when omitted.
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Run directory (data, settings, metrics, checkpoints, final model in model/).
    #[arg(long)]
    pub out: PathBuf,
    /// Passes over the training records.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Optimizer steps (overrides --epochs).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Peak learning rate (warmup then cosine decay).
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Records per micro-batch.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Micro-batches per optimizer step.
    #[arg(long, default_value_t = 1)]
    pub accum: usize,
    /// Token limit per example (prompt truncated first).
    #[arg(long, default_value_t = 512)]
    pub max_len: usize,
    /// Evaluate on held-out records every N steps.
    #[arg(long, default_value_t = 50)]
    pub eval_every: usize,
    /// Fraction of records held out per evaluation set (seen tasks, unseen tasks).
    #[arg(long, default_value_t = 0.05)]
    pub eval_frac: f64,
    /// Seed for the split, data order and initialisation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
}

fn parse_selection(s: &str) -> Result<crate::session::Selection, String> {
    crate::session::Selection::parse(s)
}

fn parse_format(s: &str) -> Result<crate::dataset::Format, String> {
    crate::dataset::Format::from_name(s)
        .ok_or_else(|| format!("unknown format `{s}` (alpaca, dolly, sharegpt, openai, prompt-completion)"))
}

fn parse_status(s: &str) -> Result<crate::session::Status, String> {
    crate::session::Status::from_name(s)
        .ok_or_else(|| format!("unknown status `{s}` (unreviewed, accepted, rejected, needs-edit)"))
}

fn parse_field(s: &str) -> Result<crate::dataset::Field, String> {
    crate::dataset::Field::from_name(s)
        .ok_or_else(|| format!("unknown field `{s}` (instruction, input, output, system, turn:N)"))
}

/// Runs a subcommand; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let format = cli.format;
    match cli.command {
        Some(Command::Stats { file, json }) => data::stats(&file, format, json),
        Some(Command::Check { file, json }) => data::check(&file, format, json),
        Some(Command::Set { file, index, status, tag, untag, note }) => {
            data::set(&file, format, index, status, &tag, &untag, note.as_deref())
        }
        Some(Command::Edit { file, index, field, value, force }) => {
            data::edit(&file, format, index, field, &value, force)
        }
        Some(Command::Batch { file }) => data::batch(&file, format, std::io::stdin().lock(), std::io::stdout().lock()),
        Some(Command::Export(args)) => export::run(*args, format),
        Some(Command::Train(a)) => {
            let mut s = crate::train::runs::RunSettings::new(a.select, a.out.clone());
            s.base = a.base.clone();
            s.epochs = a.epochs;
            s.max_steps = a.max_steps;
            s.lr = a.lr;
            s.batch = a.batch;
            s.accum = a.accum;
            s.max_len = a.max_len;
            s.eval_every = a.eval_every;
            s.eval_frac = a.eval_frac;
            s.seed = a.seed;
            s.resume = a.resume;
            train::train(&a.file, format, &s)
        }
        Some(Command::Pretrain(a)) => {
            let run_dir = a.run_dir.clone().unwrap_or_else(|| {
                let mut p = a.out.clone().into_os_string();
                p.push("-run");
                PathBuf::from(p)
            });
            let c = crate::train::pretrain::PretrainConfig {
                corpus: a.corpus.clone(),
                out: a.out.clone(),
                run_dir,
                seed: a.seed,
                minutes: a.minutes,
                max_steps: a.max_steps,
                limit: a.limit,
                vocab: a.vocab,
                hidden: a.hidden,
                layers: a.layers,
                heads: a.heads,
                kv_heads: a.kv_heads,
                intermediate: a.intermediate,
                context: a.context,
                batch: a.batch,
                lr: a.lr,
                eval_every: a.eval_every,
                resume: a.resume,
            };
            train::pretrain(&c)
        }
        Some(Command::Score { file, model, template, out, select, config, no_cache, quiet }) => {
            score::score(&score::ScoreArgs {
                file: &file,
                format,
                model,
                template: &template,
                out: &out,
                select: select.as_deref(),
                config: config.as_deref(),
                no_cache,
                quiet,
            })
        }
        None if cli.print_config => crate::tui::print_config().map(|()| 0),
        None => crate::tui::run(cli.file.as_deref(), format, cli.model.as_deref()).map(|()| 0),
    }
}
