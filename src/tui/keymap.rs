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
    ClearStandIn,
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

/// One command of the table: its config name, default keys, help text, and whether running it
/// can change what the list shows (records, decisions, filters, signals); a command that only
/// moves the cursor or the view does not make `update` recompute the list's cached state.
pub struct CommandDef {
    pub command: Command,
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub help: &'static str,
    pub changes_data: bool,
}

const fn def(command: Command, name: &'static str, keys: &'static [&'static str], help: &'static str) -> CommandDef {
    CommandDef { command, name, keys, help, changes_data: true }
}

/// A command that only moves the cursor or the view.
const fn moves(command: Command, name: &'static str, keys: &'static [&'static str], help: &'static str) -> CommandDef {
    CommandDef { command, name, keys, help, changes_data: false }
}

/// Every normal-mode command, in help order.
pub const COMMANDS: &[CommandDef] = &[
    moves(Command::Down, "down", &["j", "down"], "next record"),
    moves(Command::Up, "up", &["k", "up"], "previous record"),
    moves(Command::PageDown, "page_down", &["pgdn", "ctrl-d"], "page down"),
    moves(Command::PageUp, "page_up", &["pgup", "ctrl-u"], "page up"),
    moves(Command::Top, "top", &["g", "home"], "first record"),
    moves(Command::Bottom, "bottom", &["G", "end"], "last record"),
    def(Command::Jump, "jump", &[":"], "jump to record N"),
    def(Command::Search, "search", &["/"], "fuzzy search (i: in: o: scope a field)"),
    moves(Command::NextMatch, "next_match", &["n"], "next match"),
    moves(Command::PrevMatch, "prev_match", &["N"], "previous match"),
    def(Command::Filter, "filter", &["F"], "filter: status: tag: flag: len>N changed !X"),
    def(Command::Sort, "sort", &["s"], "cycle sort key (index, length, scores)"),
    def(Command::SortReverse, "sort_reverse", &["S"], "reverse sort order"),
    def(Command::Clear, "clear", &["esc"], "clear selection, search and filters"),
    def(Command::Accept, "accept", &["a"], "accept"),
    def(Command::Reject, "reject", &["x"], "reject"),
    def(Command::NeedsEdit, "needs_edit", &["f"], "mark needs-edit"),
    def(Command::Unreview, "unreview", &["U"], "clear the decision"),
    def(Command::Tag, "tag", &["t"], "add a tag"),
    def(Command::Untag, "untag", &["ctrl-t"], "remove a tag"),
    def(Command::Note, "note", &["c"], "edit the note"),
    moves(Command::Visual, "visual", &["v"], "visual selection (toggle)"),
    def(Command::SelectAll, "select_all", &["V"], "select every shown record"),
    def(Command::Edit, "edit", &["e", "enter"], "edit the focused field"),
    def(Command::EditExternal, "edit_external", &["E"], "edit raw JSON in $EDITOR"),
    moves(Command::NextField, "next_field", &["tab"], "focus next field"),
    moves(Command::PrevField, "prev_field", &["backtab"], "focus previous field"),
    moves(Command::DetailDown, "detail_down", &["J", "ctrl-e"], "scroll detail down"),
    moves(Command::DetailUp, "detail_up", &["K", "ctrl-y"], "scroll detail up"),
    def(Command::Add, "add", &["o"], "add a record below"),
    def(Command::Duplicate, "duplicate", &["y"], "duplicate the record"),
    def(Command::Delete, "delete", &["D"], "delete (asks first)"),
    def(Command::ClearStandIn, "clear_stand_in", &["I"], "clear a stand-in input (No input)"),
    def(Command::Undo, "undo", &["u"], "undo"),
    def(Command::Redo, "redo", &["ctrl-r"], "redo"),
    def(Command::Save, "save", &["w"], "save the file"),
    def(Command::Quit, "quit", &["q", "ctrl-c"], "quit"),
    def(Command::Train, "train", &["T"], "train on marked records (else accepted)"),
    def(Command::TrainPanel, "train_panel", &["P"], "training panel: run/past runs/try it/off"),
    def(Command::TrainStop, "train_stop", &["X"], "stop the training run (keeps checkpoint)"),
    def(Command::TryIt, "try_it", &["R"], "try it: trained vs base model answer"),
    def(Command::Score, "score", &["M"], "judge: score every record with the model"),
    def(Command::Histogram, "histogram", &["H"], "histogram of a signal (toggle)"),
    def(Command::HistogramNext, "histogram_next", &["h"], "histogram: next signal"),
    moves(Command::ReviewNext, "review_next", &["r"], "review next: the queue's next record"),
    moves(Command::ReviewMode, "review_mode", &["alt-r"], "review queue: likely rejects / uncertain"),
    def(Command::CancelJobs, "cancel_jobs", &["ctrl-x"], "stop background jobs (and the judge)"),
    moves(Command::Help, "help", &["?"], "this help"),
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
        for c in COMMANDS {
            keys.insert(c.command, c.keys.iter().map(|k| Key::parse(k).expect("default keys parse")).collect());
        }
        // A key two overrides both claim is an error: neither binding can be what the user meant.
        let mut claimed: std::collections::HashMap<Key, &str> = std::collections::HashMap::new();
        for (name, names) in overrides {
            let cmd = COMMANDS
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.command)
                .ok_or_else(|| format!("unknown command `{name}` in [keys]"))?;
            let parsed: Vec<Key> = names
                .iter()
                .map(|k| Key::parse(k).ok_or_else(|| format!("cannot read key `{k}` for `{name}`")))
                .collect::<Result<_, _>>()?;
            for k in &parsed {
                if let Some(first) = claimed.insert(*k, name) {
                    return Err(format!("[keys]: `{first}` and `{name}` are both bound to `{}`", k.name()));
                }
            }
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
        COMMANDS.iter().map(|c| (c.name, self.keys(c.command).iter().map(Key::name).collect(), c.help)).collect()
    }
}

impl Command {
    /// The command's entry in [`COMMANDS`].
    pub fn def(self) -> &'static CommandDef {
        COMMANDS.iter().find(|c| c.command == self).expect("every command is in the table")
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
        o.insert("undo".to_string(), vec!["a".to_string()]);
        assert_eq!(Keymap::new(&o).unwrap_err(), "[keys]: `reject` and `undo` are both bound to `a`");
        o.remove("undo");
        o.insert("nope".to_string(), vec![]);
        assert!(Keymap::new(&o).is_err());
        assert!(!Command::Down.def().changes_data && Command::Accept.def().changes_data);
        for k in ["ctrl-r", "G", "pgdn", "esc", "f5", "space"] {
            assert_eq!(Key::parse(k).unwrap().name(), k);
        }
    }
}
