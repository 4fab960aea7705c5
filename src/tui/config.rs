//! The TUI's sections of `config.toml`: `[options]` (display and behaviour) and `[keys]` (key
//! overrides). The whole file, its location and the engine's sections belong to [`crate::config`];
//! [`Config`] is that file composed with these sections.

use super::keymap::Keymap;
use crate::config::FrontSections;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The whole configuration as the TUI reads it.
pub type Config = crate::config::Config<UiConfig>;

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

/// `[options]` and `[keys]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UiConfig {
    pub options: Options,
    /// Command name -> key or list of keys (`accept = "A"`, `save = ["w", "ctrl-s"]`).
    #[serde(deserialize_with = "keys_de")]
    pub keys: BTreeMap<String, Vec<String>>,
}

impl FrontSections for UiConfig {
    fn check(&self) -> Result<(), String> {
        Keymap::new(&self.keys).map(|_| ())
    }

    fn spelled_out(&self) -> Result<Self, String> {
        let km = Keymap::new(&self.keys)?;
        let keys = km.describe().into_iter().map(|(name, keys, _)| (name.to_string(), keys)).collect();
        Ok(UiConfig { options: self.options.clone(), keys })
    }
}

impl Config {
    /// The key map this config gives.
    pub fn keymap(&self) -> Result<Keymap, String> {
        Keymap::new(&self.front.keys)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_config_keeps_defaults() {
        let cfg =
            Config::parse("[keys]\naccept = \"A\"\nsave = [\"w\", \"ctrl-s\"]\n[options]\nauto_advance = false\n")
                .unwrap();
        assert!(!cfg.front.options.auto_advance);
        assert_eq!(cfg.front.options.list_percent, 45);
        let out = cfg.effective_toml().unwrap();
        assert!(out.contains("accept = [\"A\"]"), "{out}");
        assert!(out.contains("reject = [\"x\"]"), "{out}");
        let back = Config::parse(&out).unwrap();
        assert_eq!(back.keymap().unwrap().first(super::super::keymap::Command::Save), "w");
        assert!(Config::parse("[keys]\nfly = \"z\"").is_err());
    }
}
