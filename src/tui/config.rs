//! `config.toml`: options, key overrides, flag settings and the judge's thresholds. A file names only what it changes;
//! `SIFT_CONFIG` points at another file (for tests).

use super::keymap::Keymap;
use crate::quality::heuristics::FlagConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Display and behaviour options.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Move to the next record after a decision (accept / reject / needs-edit).
    pub auto_advance: bool,
    /// Compute model-free quality flags in the background after opening.
    pub flags: bool,
    /// Share of the screen given to the record list (percent).
    pub list_percent: u16,
    /// Ask before a bulk change of more than this many records.
    pub confirm_over: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { auto_advance: true, flags: true, list_percent: 45, confirm_over: 1 }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub options: Options,
    /// Command name -> key or list of keys (`accept = "A"`, `save = ["w", "ctrl-s"]`).
    #[serde(deserialize_with = "keys_de")]
    pub keys: BTreeMap<String, Vec<String>>,
    pub flags: FlagConfig,
    /// `[train]`: runs started with the train key.
    pub train: super::training::TrainOptions,
    /// The judge's weights and flag thresholds (as `sift score --config` reads them).
    pub judge: crate::judge::JudgeConfig,
}

fn keys_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let m: BTreeMap<String, OneOrMany> = BTreeMap::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(k, v)| {
            (
                k,
                match v {
                    OneOrMany::One(s) => vec![s],
                    OneOrMany::Many(v) => v,
                },
            )
        })
        .collect())
}

/// Where the config file is: `$SIFT_CONFIG`, else `config.toml` in the user's config directory.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SIFT_CONFIG") {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "sift").map(|d| d.config_dir().join("config.toml"))
}

impl Config {
    /// Reads the config file (defaults when there is none) and checks its keys.
    pub fn load() -> anyhow::Result<Config> {
        let Some(path) = config_path() else { return Ok(Config::default()) };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Parses config text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| unknown_train_key(text).unwrap_or_else(|| e.to_string()))?;
        cfg.keymap()?;
        Ok(cfg)
    }

    /// The key map this config gives.
    pub fn keymap(&self) -> Result<Keymap, String> {
        Keymap::new(&self.keys)
    }

    /// The effective configuration as TOML (every key binding spelled out).
    pub fn effective_toml(&self) -> anyhow::Result<String> {
        let km = self.keymap().map_err(anyhow::Error::msg)?;
        let mut full = self.clone();
        full.keys = km.describe().into_iter().map(|(name, keys, _)| (name.to_string(), keys)).collect();
        Ok(toml::to_string(&full)?)
    }
}

/// The error for a misspelt key of `[train]`, with its line and the valid keys. (The TOML
/// parser's own message cannot say either, because the hyper-parameters are a flattened struct.)
fn unknown_train_key(text: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let train = table.get("train")?.as_table()?;
    let known = serde_json::to_value(super::training::TrainOptions::default()).ok()?;
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
    fn partial_config_keeps_defaults() {
        let cfg =
            Config::parse("[keys]\naccept = \"A\"\nsave = [\"w\", \"ctrl-s\"]\n[options]\nauto_advance = false\n")
                .unwrap();
        assert!(!cfg.options.auto_advance);
        assert_eq!(cfg.options.list_percent, 45);
        let out = cfg.effective_toml().unwrap();
        assert!(out.contains("accept = [\"A\"]"), "{out}");
        assert!(out.contains("reject = [\"x\"]"), "{out}");
        let back = Config::parse(&out).unwrap();
        assert_eq!(back.keymap().unwrap().first(super::super::keymap::Command::Save), "w");
        assert!(Config::parse("[keys]\nfly = \"z\"").is_err());
    }
}
