//! Key bindings: named commands, their default keys, overrides from the config file, and the help
//! text generated from the live map.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

/// A command that normal mode can bind to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Jump,
    Search,
    NextMatch,
    PrevMatch,
    Filter,
    Sort,
    SortReverse,
    Clear,
    Accept,
    Reject,
    NeedsEdit,
    Unreview,
    Tag,
    Untag,
    Note,
    Visual,
    SelectAll,
    Edit,
    EditExternal,
    NextField,
    PrevField,
    DetailDown,
    DetailUp,
    Add,
    Duplicate,
    Delete,
    Undo,
    Redo,
    Save,
    Quit,
    CancelJobs,
    Train,
    TrainPanel,
    TrainStop,
    TryIt,
    Score,
    Histogram,
    HistogramNext,
    ReviewNext,
    ReviewMode,
    Help,
}

/// (command, config name, default keys, description), in help order.
pub const COMMANDS: &[(Command, &str, &[&str], &str)] = &[
    (Command::Down, "down", &["j", "down"], "next record"),
    (Command::Up, "up", &["k", "up"], "previous record"),
    (Command::PageDown, "page_down", &["pgdn", "ctrl-d"], "page down"),
    (Command::PageUp, "page_up", &["pgup", "ctrl-u"], "page up"),
    (Command::Top, "top", &["g", "home"], "first record"),
    (Command::Bottom, "bottom", &["G", "end"], "last record"),
    (Command::Jump, "jump", &[":"], "jump to record N"),
    (Command::Search, "search", &["/"], "fuzzy search (i: in: o: scope a field)"),
    (Command::NextMatch, "next_match", &["n"], "next match"),
    (Command::PrevMatch, "prev_match", &["N"], "previous match"),
    (Command::Filter, "filter", &["F"], "filter: status: tag: flag: len>N changed !X"),
    (Command::Sort, "sort", &["s"], "cycle sort key (index, length, scores)"),
    (Command::SortReverse, "sort_reverse", &["S"], "reverse sort order"),
    (Command::Clear, "clear", &["esc"], "clear selection, search and filters"),
    (Command::Accept, "accept", &["a"], "accept"),
    (Command::Reject, "reject", &["x"], "reject"),
    (Command::NeedsEdit, "needs_edit", &["f"], "mark needs-edit"),
    (Command::Unreview, "unreview", &["U"], "clear the decision"),
    (Command::Tag, "tag", &["t"], "add a tag"),
    (Command::Untag, "untag", &["ctrl-t"], "remove a tag"),
    (Command::Note, "note", &["c"], "edit the note"),
    (Command::Visual, "visual", &["v"], "visual selection (toggle)"),
    (Command::SelectAll, "select_all", &["V"], "select every shown record"),
    (Command::Edit, "edit", &["e", "enter"], "edit the focused field"),
    (Command::EditExternal, "edit_external", &["E"], "edit raw JSON in $EDITOR"),
    (Command::NextField, "next_field", &["tab"], "focus next field"),
    (Command::PrevField, "prev_field", &["backtab"], "focus previous field"),
    (Command::DetailDown, "detail_down", &["J", "ctrl-e"], "scroll detail down"),
    (Command::DetailUp, "detail_up", &["K", "ctrl-y"], "scroll detail up"),
    (Command::Add, "add", &["o"], "add a record below"),
    (Command::Duplicate, "duplicate", &["y"], "duplicate the record"),
    (Command::Delete, "delete", &["D"], "delete (asks first)"),
    (Command::Undo, "undo", &["u"], "undo"),
    (Command::Redo, "redo", &["ctrl-r"], "redo"),
    (Command::Save, "save", &["w"], "save the file"),
    (Command::Quit, "quit", &["q", "ctrl-c"], "quit"),
    (Command::Train, "train", &["T"], "train on marked records (else accepted)"),
    (Command::TrainPanel, "train_panel", &["P"], "training panel: run/past runs/try it/off"),
    (Command::TrainStop, "train_stop", &["X"], "stop the training run (keeps checkpoint)"),
    (Command::TryIt, "try_it", &["R"], "try it: trained vs base model answer"),
    (Command::Score, "score", &["M"], "judge: score every record with the model"),
    (Command::Histogram, "histogram", &["H"], "histogram of a signal (toggle)"),
    (Command::HistogramNext, "histogram_next", &["h"], "histogram: next signal"),
    (Command::ReviewNext, "review_next", &["r"], "review next: the queue's next record"),
    (Command::ReviewMode, "review_mode", &["alt-r"], "review queue: likely rejects / uncertain"),
    (Command::CancelJobs, "cancel_jobs", &["ctrl-x"], "stop background jobs (and the judge)"),
    (Command::Help, "help", &["?"], "this help"),
];

/// A key with modifiers, as written in the config (`a`, `A`, `ctrl-r`, `alt-x`, `enter`, `pgdn`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// Normalizes a terminal key event (shift is folded into the character).
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match ev.code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => KeyCode::Char(c.to_ascii_lowercase()),
            KeyCode::BackTab => {
                mods = KeyModifiers::NONE;
                KeyCode::BackTab
            }
            c => c,
        };
        Key { code, mods }
    }

    /// Parses a key name.
    pub fn parse(s: &str) -> Option<Key> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-").or_else(|| rest.strip_prefix("C-")) {
                mods |= KeyModifiers::CONTROL;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-").or_else(|| rest.strip_prefix("M-")) {
                mods |= KeyModifiers::ALT;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => KeyCode::F(f[1..].parse().ok()?),
            _ => {
                let mut chars = rest.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                KeyCode::Char(if mods.contains(KeyModifiers::CONTROL) { c.to_ascii_lowercase() } else { c })
            }
        };
        Some(Key { code, mods })
    }

    /// The key's name, as [`Key::parse`] reads it.
    pub fn name(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("alt-");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("space"),
            KeyCode::Char(c) => s.push(c),
            KeyCode::Enter => s.push_str("enter"),
            KeyCode::Esc => s.push_str("esc"),
            KeyCode::Tab => s.push_str("tab"),
            KeyCode::BackTab => s.push_str("backtab"),
            KeyCode::Up => s.push_str("up"),
            KeyCode::Down => s.push_str("down"),
            KeyCode::Left => s.push_str("left"),
            KeyCode::Right => s.push_str("right"),
            KeyCode::PageUp => s.push_str("pgup"),
            KeyCode::PageDown => s.push_str("pgdn"),
            KeyCode::Home => s.push_str("home"),
            KeyCode::End => s.push_str("end"),
            KeyCode::Backspace => s.push_str("backspace"),
            KeyCode::Delete => s.push_str("delete"),
            KeyCode::F(n) => s.push_str(&format!("f{n}")),
            _ => s.push('?'),
        }
        s
    }
}

/// The live key map.
#[derive(Clone, Debug)]
pub struct Keymap {
    by_key: std::collections::HashMap<Key, Command>,
    keys: BTreeMap<Command, Vec<Key>>,
}

impl Keymap {
    /// The defaults with `overrides` (command name -> key names) applied: a named command gets
    /// exactly the keys given; a key taken from another command is removed from it.
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut keys: BTreeMap<Command, Vec<Key>> = BTreeMap::new();
        for (cmd, _, defaults, _) in COMMANDS {
            keys.insert(*cmd, defaults.iter().map(|k| Key::parse(k).expect("default keys parse")).collect());
        }
        for (name, names) in overrides {
            let cmd = COMMANDS
                .iter()
                .find(|c| c.1 == name)
                .map(|c| c.0)
                .ok_or_else(|| format!("unknown command `{name}` in [keys]"))?;
            let parsed: Vec<Key> = names
                .iter()
                .map(|k| Key::parse(k).ok_or_else(|| format!("cannot read key `{k}` for `{name}`")))
                .collect::<Result<_, _>>()?;
            for (other, ks) in keys.iter_mut() {
                if *other != cmd {
                    ks.retain(|k| !parsed.contains(k));
                }
            }
            keys.insert(cmd, parsed);
        }
        let mut by_key = std::collections::HashMap::new();
        for (cmd, ks) in &keys {
            for k in ks {
                by_key.insert(*k, *cmd);
            }
        }
        Ok(Keymap { by_key, keys })
    }

    /// The command bound to a key event.
    pub fn lookup(&self, ev: &KeyEvent) -> Option<Command> {
        self.by_key.get(&Key::from_event(ev)).copied()
    }

    /// The keys of a command.
    pub fn keys(&self, cmd: Command) -> &[Key] {
        self.keys.get(&cmd).map_or(&[], Vec::as_slice)
    }

    /// The first key of a command, for hints ("" when unbound).
    pub fn first(&self, cmd: Command) -> String {
        self.keys(cmd).first().map(Key::name).unwrap_or_default()
    }

    /// Every command with its config name, keys and description (for help and --print-config).
    pub fn describe(&self) -> Vec<(&'static str, Vec<String>, &'static str)> {
        COMMANDS
            .iter()
            .map(|(cmd, name, _, desc)| (*name, self.keys(*cmd).iter().map(Key::name).collect(), *desc))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_name() {
        let mut o = BTreeMap::new();
        o.insert("accept".to_string(), vec!["A".to_string()]);
        o.insert("reject".to_string(), vec!["a".to_string()]);
        let km = Keymap::new(&o).unwrap();
        let ev = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(km.lookup(&KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT)), Some(Command::Accept));
        assert_eq!(km.lookup(&ev('a')), Some(Command::Reject));
        assert_eq!(km.lookup(&ev('x')), None, "a named command gets exactly the keys given");
        assert_eq!(km.lookup(&ev('j')), Some(Command::Down));
        assert_eq!(km.lookup(&KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)), Some(Command::Redo));
        o.insert("nope".to_string(), vec![]);
        assert!(Keymap::new(&o).is_err());
        for k in ["ctrl-r", "G", "pgdn", "esc", "f5", "space"] {
            assert_eq!(Key::parse(k).unwrap().name(), k);
        }
    }
}
