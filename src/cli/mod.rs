//! The command line: `sift FILE` opens the TUI; subcommands script the same engine.

mod data;
mod export;
pub mod score;
pub mod suggest;
pub mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use train::{PretrainArgs, TrainArgs, TryArgs};

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
        /// TOML file with judge weights and flag thresholds: a config.toml (its [judge] and [flags]
        /// tables) or the judge's tables alone. Default: the user's config.toml, as the TUI reads it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Neither read nor write the score cache.
        #[arg(long)]
        no_cache: bool,
        /// Response tokens compared across contexts for IFD, instruction gain and raw fit (0: the
        /// whole response, Cherry's exact IFD, about 1.5x slower).
        #[arg(long, default_value_t = 32)]
        compare_tokens: usize,
        /// No progress on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Learn from the review decisions saved so far (accepted = keep; rejected, needs-edit = not)
    /// and write `{index, suggest, reasons}` for every unreviewed record: `suggest` is the
    /// probability the annotator would reject it. Uses the judge's scores where the score cache
    /// has them; scores nothing itself.
    Suggest {
        file: PathBuf,
        /// Where to write the suggestions (JSONL); default: stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Judge model whose cached scores to use; default: $SIFT_MODEL, then the bundled model.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Fine-tune a model on the selected records (progress on stderr; Ctrl-C checkpoints and stops).
    Train(Box<TrainArgs>),
    /// Build a small Llama from scratch on an Alpaca corpus (tokenizer, training, f16 HF model dir).
    Pretrain(Box<PretrainArgs>),
    /// Answer an instruction with a model, streamed to stdout: the bundled default model, a base
    /// model, or a trained run's `model/` (the Alpaca prompt it was trained on).
    Try(Box<TryArgs>),
}

pub(crate) fn parse_selection(s: &str) -> Result<crate::session::Selection, String> {
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
        Some(Command::Train(a)) => train::train(&a.file, format, &a.settings()),
        Some(Command::Pretrain(a)) => train::pretrain(&a.config()),
        Some(Command::Try(a)) => train::try_it(&a),
        Some(Command::Score { file, model, template, out, select, config, no_cache, compare_tokens, quiet }) => {
            score::score(&score::ScoreArgs {
                file: &file,
                format,
                model,
                template: &template,
                out: &out,
                select: select.as_deref(),
                config: config.as_deref(),
                no_cache,
                compare_tokens,
                quiet,
            })
        }
        Some(Command::Suggest { file, out, model }) => suggest::run(&file, format, out.as_deref(), model.as_deref()),
        None if cli.print_config => crate::tui::print_config().map(|()| 0),
        None => crate::tui::run(cli.file.as_deref(), format, cli.model.as_deref()).map(|()| 0),
    }
}
