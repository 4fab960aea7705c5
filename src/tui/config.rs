//! The TUI's sections of `config.toml`: `[options]` (display and behaviour) and `[keys]` (key
//! overrides: normal-mode commands in `[keys]`, the other modes' in `[keys.<mode>]`). The whole file, its location and the engine's sections belong to [`crate::config`];
//! [`Config`] is that file composed with these sections.

use super::keymap::{KeyOverrides, Keymap};
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
    /// Mode -> command name -> key or list of keys: `accept = "A"` and `save = ["w", "ctrl-s"]`
    /// in `[keys]` are normal mode's; `[keys.confirm]` `yes = "j"` is a mode's own table.
    #[serde(deserialize_with = "keys_de", serialize_with = "keys_ser")]
    pub keys: KeyOverrides,
}

impl FrontSections for UiConfig {
    fn check(&self) -> Result<(), String> {
        Keymap::new(&self.keys).map(|_| ())
    }

    fn spelled_out(&self) -> Result<Self, String> {
        let keys = Keymap::new(&self.keys)?.spelled_out();
        Ok(UiConfig { options: self.options.clone(), keys })
    }
}

impl Config {
    /// The key map this config gives.
    pub fn keymap(&self) -> Result<Keymap, String> {
        Keymap::new(&self.front.keys)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn keys(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Reads `[keys]`: keys at its top level are normal mode's, tables are the other modes'.
fn keys_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<KeyOverrides, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Keys(OneOrMany),
        Mode(BTreeMap<String, OneOrMany>),
    }
    let normal = super::keymap::KeyMode::Normal.name().to_string();
    let mut out = KeyOverrides::new();
    for (name, entry) in BTreeMap::<String, Entry>::deserialize(d)? {
        match entry {
            Entry::Keys(k) => {
                out.entry(normal.clone()).or_default().insert(name, k.keys());
            }
            Entry::Mode(m) => out.entry(name).or_default().extend(m.into_iter().map(|(c, k)| (c, k.keys()))),
        }
    }
    Ok(out)
}

/// Writes `[keys]` the way [`keys_de`] reads it: normal mode's keys, then a table per mode.
fn keys_ser<S: serde::Serializer>(keys: &KeyOverrides, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let normal = super::keymap::KeyMode::Normal.name();
    let mut map = s.serialize_map(None)?;
    for (name, k) in keys.get(normal).into_iter().flatten() {
        map.serialize_entry(name, k)?;
    }
    for (mode, cmds) in keys.iter().filter(|(m, _)| *m != normal) {
        map.serialize_entry(mode, cmds)?;
    }
    map.end()
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

    #[test]
    fn mode_tables_rebind_their_keys_and_print_back() {
        use super::super::keymap::{Command, KeyMode};
        let cfg = Config::parse("[keys]\naccept = \"A\"\n[keys.confirm]\nyes = [\"j\", \"enter\"]\n").unwrap();
        let km = cfg.keymap().unwrap();
        assert_eq!((km.first(Command::Accept), km.first(Command::ConfirmYes)), ("A".into(), "j".into()));
        let out = cfg.effective_toml().unwrap();
        assert!(out.contains("[keys.confirm]") && out.contains("[keys.train_dialog]"), "{out}");
        let back = Config::parse(&out).unwrap().keymap().unwrap();
        assert_eq!(back.describe(KeyMode::Confirm), km.describe(KeyMode::Confirm));
        assert_eq!(back.describe(KeyMode::Normal), km.describe(KeyMode::Normal));
        let err = Config::parse("[keys.editor]\napply = \"ctrl-x\"\ncancel = \"ctrl-x\"\n").unwrap_err();
        assert_eq!(err, "[keys.editor]: `apply` and `cancel` are both bound to `ctrl-x`");
    }
}
