//! `config.toml`, the whole file: where it is (`$SIFT_CONFIG`, which must exist, else
//! [`crate::paths::config_file`], which may not), reading it, and composing its sections as helix
//! composes its config: each section is typed by the module it configures — `[judge]` by judge/
//! ([`JudgeConfig`]), `[flags]` by quality/ ([`FlagConfig`]), `[train]` by train/ ([`TrainOptions`])
//! and the front end's own sections (the TUI's `[options]` and `[keys]`) by the front end, through
//! [`FrontSections`]. A command that needs only some sections reads only those
//! ([`ConfigFile::section`]): `sift score` never parses `[keys]`. A file names only what it changes.

use crate::judge::JudgeConfig;
use crate::quality::heuristics::FlagConfig;
use crate::train::options::TrainOptions;
use anyhow::{Context, Result, anyhow};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The text of a config file and where it came from.
#[derive(Clone, Debug, Default)]
pub struct ConfigFile {
    /// The file read; None when there is no config file (everything at its default).
    pub path: Option<PathBuf>,
    /// Its text (empty when there is none).
    pub text: String,
}

impl ConfigFile {
    /// `$SIFT_CONFIG` when set and not empty (an error when it names no file), else `config.toml`
    /// in the user's config folder (none there: an empty file, so every default holds).
    pub fn load() -> Result<ConfigFile> {
        if let Some(p) = std::env::var_os("SIFT_CONFIG").filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            if !p.is_file() {
                anyhow::bail!("SIFT_CONFIG names {}, which is not a file", p.display());
            }
            return ConfigFile::open(&p);
        }
        let Some(path) = crate::paths::config_file() else { return Ok(ConfigFile::default()) };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(ConfigFile { path: Some(path), text }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        }
    }

    /// The file at `path`, which must exist.
    pub fn open(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(ConfigFile { path: Some(path.to_path_buf()), text })
    }

    /// The top-level tables of the file.
    pub fn table(&self) -> Result<toml::Table> {
        toml::from_str(&self.text).map_err(|e| anyhow!("{}: {e}", self.name()))
    }

    /// One section, typed by the module that owns it; its defaults when the file lacks it. The
    /// other sections are not parsed.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        match self.table()?.remove(name) {
            None => Ok(T::default()),
            Some(v) => v.try_into().map_err(|e| anyhow!("{}: [{name}]: {e}", self.name())),
        }
    }

    /// The whole file, composed; errors name the file.
    pub fn config<F: FrontSections>(&self) -> Result<Config<F>> {
        Config::parse(&self.text).map_err(|e| anyhow!("{}: {e}", self.name()))
    }

    fn name(&self) -> String {
        self.path.as_ref().map_or_else(|| "config".into(), |p| p.display().to_string())
    }
}

/// The sections a front end adds to `config.toml` (the TUI: `[options]` and `[keys]`), owned by it.
pub trait FrontSections: Clone + Default + Serialize + DeserializeOwned {
    /// Checks what the types cannot (command names, key syntax, conflicts).
    fn check(&self) -> Result<(), String>;
    /// The same sections with every default spelled out (for `sift --print-config`).
    fn spelled_out(&self) -> Result<Self, String>;
}

/// No front-end sections: an engine-only reader leaves `[options]` and `[keys]` unread.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NoFront {}

impl FrontSections for NoFront {
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    fn spelled_out(&self) -> Result<Self, String> {
        Ok(NoFront {})
    }
}

/// The whole configuration: the front end's sections `F`, then the engine's.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config<F: FrontSections> {
    /// The front end's own sections.
    #[serde(flatten, bound = "")]
    pub front: F,
    /// `[flags]`: the model-free flags' thresholds (quality/).
    pub flags: FlagConfig,
    /// `[train]`: runs started from the TUI (train/).
    pub train: TrainOptions,
    /// `[judge]`: the judge's weights and flag thresholds (judge/).
    pub judge: JudgeConfig,
}

impl<F: FrontSections> Config<F> {
    /// Reads the config file ([`ConfigFile::load`]): defaults when there is none.
    pub fn load() -> Result<Config<F>> {
        ConfigFile::load()?.config()
    }

    /// Parses config text and checks the front end's sections.
    pub fn parse(text: &str) -> Result<Config<F>, String> {
        let cfg: Config<F> =
            toml::from_str(text).map_err(|e| unknown_train_key(text).unwrap_or_else(|| e.to_string()))?;
        cfg.front.check()?;
        Ok(cfg)
    }

    /// The effective configuration as TOML (every key binding spelled out).
    pub fn effective_toml(&self) -> Result<String> {
        let mut full = self.clone();
        full.front = self.front.spelled_out().map_err(anyhow::Error::msg)?;
        Ok(toml::to_string(&full)?)
    }
}

/// Prints the effective configuration with front end `F` (`sift --print-config`).
pub fn print_config<F: FrontSections>() -> Result<()> {
    print!("{}", Config::<F>::load()?.effective_toml()?);
    Ok(())
}

/// The error for a misspelt key of `[train]`, with its line and the valid keys. (The TOML
/// parser's own message cannot say either, because the hyper-parameters are a flattened struct.)
fn unknown_train_key(text: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let train = table.get("train")?.as_table()?;
    let known = serde_json::to_value(TrainOptions::default()).ok()?;
    let known = known.as_object()?;
    let bad = train.keys().find(|k| !known.contains_key(*k))?;
    let mut section = String::new();
    let line = text.lines().position(|l| {
        let l = l.trim();
        if l.starts_with('[') {
            section = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
        section == "train" && l.split('=').next().is_some_and(|k| k.trim().trim_matches('"') == bad)
    });
    let mut names: Vec<&str> = known.keys().map(String::as_str).collect();
    names.sort();
    let at = line.map_or(String::new(), |n| format!("line {}: ", n + 1));
    Some(format!("{at}unknown key `{bad}` in [train]; expected one of {}", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_readers_leave_the_front_sections_unread() {
        let text = "[keys]\nfly = 3\n[judge.flags]\ncontinuation = 0.25\n[flags]\ncopy_min_words = 7\n";
        let file = ConfigFile { path: None, text: text.into() };
        let judge: JudgeConfig = file.section("judge").unwrap();
        assert_eq!(judge.flags.continuation, 0.25);
        let whole = file.config::<NoFront>().unwrap();
        assert_eq!(whole.judge.flags.continuation, 0.25);
        let err = Config::<NoFront>::parse("[train]\nmax_step = 7\n").unwrap_err();
        assert!(err.contains("line 2: unknown key `max_step` in [train]"), "{err}");
    }
}
