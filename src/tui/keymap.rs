//! Key bindings: one table of every command of every mode (its config name, default keys, help
//! text and whether it changes data), overrides from the config file (`[keys]` for normal mode,
//! `[keys.<mode>]` for the others), and the help text generated from the live map. Adding a key
//! is one line of [`commands!`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};

/// Where keys go: each mode has its own commands, and a key means one command per mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyMode {
    /// Browsing the list.
    Normal,
    /// The help screen (a key no command has closes it).
    Help,
    /// The search line (other keys type).
    Search,
    /// A one-line prompt (other keys type).
    Prompt,
    /// The field editor (other keys edit).
    Editor,
    /// "Change N records?"
    Confirm,
    /// The file changed on disk since it was opened.
    SaveConflict,
    /// Quitting with unsaved changes.
    QuitDialog,
    /// An external edit is not valid JSON.
    InvalidJson,
    /// The train dialog.
    TrainDialog,
    /// Stop the run? / quit while a run is active?
    TrainQuestion,
    /// The frequency view (a key no command has closes it).
    Frequency,
}

impl KeyMode {
    /// Every mode, in help order.
    pub const ALL: [KeyMode; 12] = [
        KeyMode::Normal,
        KeyMode::Help,
        KeyMode::Search,
        KeyMode::Prompt,
        KeyMode::Editor,
        KeyMode::Confirm,
        KeyMode::SaveConflict,
        KeyMode::QuitDialog,
        KeyMode::InvalidJson,
        KeyMode::TrainDialog,
        KeyMode::TrainQuestion,
        KeyMode::Frequency,
    ];

    /// The mode's table in the config: `[keys.<name>]` (normal mode's commands sit in `[keys]`
    /// itself). No name is also a normal command's name.
    pub fn name(self) -> &'static str {
        match self {
            KeyMode::Normal => "normal",
            KeyMode::Help => "help_screen",
            KeyMode::Search => "search_line",
            KeyMode::Prompt => "prompt_line",
            KeyMode::Editor => "editor",
            KeyMode::Confirm => "confirm",
            KeyMode::SaveConflict => "save_conflict",
            KeyMode::QuitDialog => "quit_dialog",
            KeyMode::InvalidJson => "invalid_json",
            KeyMode::TrainDialog => "train_dialog",
            KeyMode::TrainQuestion => "train_question",
            KeyMode::Frequency => "frequency_view",
        }
    }

    /// The mode's config section, as errors and help name it.
    pub fn section(self) -> String {
        match self {
            KeyMode::Normal => "[keys]".to_string(),
            m => format!("[keys.{}]", m.name()),
        }
    }

    /// What the mode is, for help.
    pub fn describe(self) -> &'static str {
        match self {
            KeyMode::Normal => "the list",
            KeyMode::Help => "help (any other key closes it)",
            KeyMode::Search => "the search line (other keys type)",
            KeyMode::Prompt => "a prompt (other keys type)",
            KeyMode::Editor => "the field editor (other keys edit)",
            KeyMode::Confirm => "the bulk-change question",
            KeyMode::SaveConflict => "the file changed on disk",
            KeyMode::QuitDialog => "quitting with unsaved changes",
            KeyMode::InvalidJson => "an invalid raw edit",
            KeyMode::TrainDialog => "the train dialog",
            KeyMode::TrainQuestion => "stop the run? / quit while training?",
            KeyMode::Frequency => "the frequency view (any other key closes it)",
        }
    }

    /// Whether a key matches in either case and with any modifier when nothing else matches (the
    /// questions: `Y` and `y` both answer yes).
    fn loose(self) -> bool {
        !matches!(
            self,
            KeyMode::Normal | KeyMode::Help | KeyMode::Search | KeyMode::Prompt | KeyMode::Editor | KeyMode::Frequency
        )
    }
}

/// One command of the table: its mode, config name, default keys, help text, and whether running
/// it can change the session's records or decisions (then `update` recomputes the cached modified
/// flag and status counts, which scans every record; a command that only moves the cursor, the
/// view or text being typed does not).
pub struct CommandDef {
    pub command: Command,
    pub mode: KeyMode,
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub help: &'static str,
    pub changes_data: bool,
}

/// Declares [`Command`] and [`COMMANDS`] from one list, so a command cannot lack a table entry,
/// and an entry cannot lack its mode, keys, help or `changes`/`moves` (whether it changes data).
macro_rules! commands {
    ($($variant:ident: $mode:ident $name:literal [$($key:literal),*] $data:ident $help:literal;)*) => {
        /// A command a key can be bound to (its mode, name and keys are in [`COMMANDS`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Command {
            $($variant,)*
        }

        /// Every command, in enum order (which is help order within a mode).
        pub const COMMANDS: &[CommandDef] = &[
            $(CommandDef {
                command: Command::$variant,
                mode: KeyMode::$mode,
                name: $name,
                keys: &[$($key),*],
                help: $help,
                changes_data: commands!(@data $data),
            },)*
        ];
    };
    (@data changes) => { true };
    (@data moves) => { false };
}

commands! {
    Down: Normal "down" ["j", "down"] moves "next record";
    Up: Normal "up" ["k", "up"] moves "previous record";
    PageDown: Normal "page_down" ["pgdn", "ctrl-d"] moves "page down";
    PageUp: Normal "page_up" ["pgup", "ctrl-u"] moves "page up";
    Top: Normal "top" ["g", "home"] moves "first record";
    Bottom: Normal "bottom" ["G", "end"] moves "last record";
    Jump: Normal "jump" [":"] changes "jump to record N";
    Search: Normal "search" ["/"] changes "fuzzy search (i: in: o: scope a field)";
    NextMatch: Normal "next_match" ["n"] moves "next match";
    PrevMatch: Normal "prev_match" ["N"] moves "previous match";
    Filter: Normal "filter" ["F"] changes "filter: status: tag: flag: len>N changed !X";
    Sort: Normal "sort" ["s"] changes "cycle sort key (index, length, scores)";
    SortReverse: Normal "sort_reverse" ["S"] changes "reverse sort order";
    Clear: Normal "clear" ["esc"] changes "clear selection, search and filters";
    Accept: Normal "accept" ["a"] changes "accept";
    Reject: Normal "reject" ["x"] changes "reject";
    NeedsEdit: Normal "needs_edit" ["f"] changes "mark needs-edit";
    Unreview: Normal "unreview" ["U"] changes "clear the decision";
    Tag: Normal "tag" ["t"] changes "add a tag";
    Untag: Normal "untag" ["ctrl-t"] changes "remove a tag";
    Note: Normal "note" ["c"] changes "edit the note";
    Visual: Normal "visual" ["v"] moves "visual selection (toggle)";
    SelectAll: Normal "select_all" ["V"] changes "select every shown record";
    Edit: Normal "edit" ["e", "enter"] changes "edit the focused field";
    EditExternal: Normal "edit_external" ["E"] changes "edit raw JSON in $EDITOR";
    NextField: Normal "next_field" ["tab"] moves "focus next field";
    PrevField: Normal "prev_field" ["backtab"] moves "focus previous field";
    DetailDown: Normal "detail_down" ["J", "ctrl-e"] moves "scroll detail down";
    DetailUp: Normal "detail_up" ["K", "ctrl-y"] moves "scroll detail up";
    Add: Normal "add" ["o"] changes "add a record below";
    Duplicate: Normal "duplicate" ["y"] changes "duplicate the record";
    Delete: Normal "delete" ["D"] changes "delete (asks first)";
    ClearStandIn: Normal "clear_stand_in" ["I"] changes "clear a stand-in input (No input)";
    Undo: Normal "undo" ["u"] changes "undo";
    Redo: Normal "redo" ["ctrl-r"] changes "redo";
    Save: Normal "save" ["w"] changes "save the file";
    Quit: Normal "quit" ["q", "ctrl-c"] changes "quit";
    Train: Normal "train" ["T"] changes "train on marked records (else accepted)";
    TrainPanel: Normal "train_panel" ["P"] changes "training panel: run/past runs/try it/off";
    TrainStop: Normal "train_stop" ["X"] changes "stop the training run (keeps checkpoint)";
    TryIt: Normal "try_it" ["R"] changes "try it: trained vs base model answer";
    Score: Normal "score" ["M"] changes "judge: score the selection, filter or file";
    Histogram: Normal "histogram" ["H"] changes "histogram of a signal (toggle)";
    HistogramNext: Normal "histogram_next" ["h"] changes "histogram: next signal";
    ReviewNext: Normal "review_next" ["r"] moves "review next: the queue's next record";
    ReviewMode: Normal "review_mode" ["alt-r"] moves "review queue: likely rejects / uncertain";
    Frequency: Normal "frequency" ["C"] changes "counts by status, tag, flag, category, suggest";
    CancelJobs: Normal "cancel_jobs" ["ctrl-x"] changes "stop background jobs (and the judge)";
    Help: Normal "help" ["?"] moves "this help";

    HelpDown: Help "down" ["j", "down"] moves "scroll down";
    HelpUp: Help "up" ["k", "up"] moves "scroll up";

    SearchKeep: Search "keep" ["enter"] moves "keep the matches, back to the list";
    SearchCancel: Search "cancel" ["esc"] moves "clear the search";
    SearchDown: Search "down" ["down"] moves "next record";
    SearchUp: Search "up" ["up"] moves "previous record";
    SearchBackspace: Search "backspace" ["backspace"] moves "delete a character";
    SearchClearLine: Search "clear_line" ["ctrl-u"] moves "clear the query";

    PromptSubmit: Prompt "submit" ["enter"] changes "apply";
    PromptCancel: Prompt "cancel" ["esc"] moves "cancel";
    PromptBackspace: Prompt "backspace" ["backspace"] moves "delete a character";
    PromptClearLine: Prompt "clear_line" ["ctrl-u"] moves "clear the line";

    EditApply: Editor "apply" ["esc", "ctrl-s"] changes "apply the edit";
    EditCancel: Editor "cancel" ["ctrl-c"] moves "cancel the edit";

    ConfirmYes: Confirm "yes" ["y", "enter"] changes "yes";
    ConfirmNo: Confirm "no" ["n", "c", "esc"] moves "no";

    Overwrite: SaveConflict "overwrite" ["o"] changes "overwrite";
    SaveAs: SaveConflict "save_as" ["s"] moves "save as…";
    ConflictCancel: SaveConflict "cancel" ["esc", "n", "c"] moves "cancel";

    QuitSave: QuitDialog "save" ["s"] changes "save and quit";
    QuitDiscard: QuitDialog "discard" ["d"] changes "discard the data changes and quit";
    QuitCancel: QuitDialog "cancel" ["esc", "n", "c"] moves "cancel";

    EditAgain: InvalidJson "edit_again" ["e", "enter"] moves "edit again (your text is kept)";
    DiscardEdit: InvalidJson "discard" ["d"] moves "discard the edit";

    TrainStart: TrainDialog "start" ["enter", "y"] moves "start";
    TrainSwitch: TrainDialog "switch_trainer" ["b"] moves "the other trainer (when one is configured)";
    TrainCancel: TrainDialog "cancel" ["esc", "n", "c", "q"] moves "cancel";

    TrainYes: TrainQuestion "yes" ["y", "enter"] changes "yes";
    TrainNo: TrainQuestion "no" ["n", "c", "q", "esc"] moves "no";

    FrequencyDown: Frequency "down" ["j", "down"] moves "next row";
    FrequencyUp: Frequency "up" ["k", "up"] moves "previous row";
    FrequencyTop: Frequency "top" ["g", "home"] moves "first row";
    FrequencyBottom: Frequency "bottom" ["G", "end"] moves "last row";
    FrequencyPick: Frequency "filter" ["enter"] changes "filter the list to the row (Esc: back)";
}

/// Key overrides from the config: mode name ([`KeyMode::name`]) -> command name -> key names.
pub type KeyOverrides = BTreeMap<String, BTreeMap<String, Vec<String>>>;

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

    /// The key as dialogs and hints show it: `Enter`, `Esc`, `Ctrl-c`, `↑`, `y`.
    pub fn label(&self) -> String {
        match self.code {
            KeyCode::Up if self.mods.is_empty() => "↑".into(),
            KeyCode::Down if self.mods.is_empty() => "↓".into(),
            _ => {
                let name = self.name();
                match name.split_at_checked(1) {
                    Some((c, rest)) if rest.len() > 1 => c.to_ascii_uppercase() + rest,
                    _ => name,
                }
            }
        }
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
    by_key: HashMap<(KeyMode, Key), Command>,
    keys: BTreeMap<Command, Vec<Key>>,
}

impl Keymap {
    /// The defaults with `overrides` applied: a named command gets exactly the keys given; a key
    /// taken from another command of the same mode is removed from it.
    pub fn new(overrides: &KeyOverrides) -> Result<Keymap, String> {
        let mut keys: BTreeMap<Command, Vec<Key>> = BTreeMap::new();
        for c in COMMANDS {
            keys.insert(c.command, c.keys.iter().map(|k| Key::parse(k).expect("default keys parse")).collect());
        }
        for (mode_name, names) in overrides {
            let mode = KeyMode::ALL
                .into_iter()
                .find(|m| m.name() == mode_name)
                .ok_or_else(|| format!("unknown mode `{mode_name}` in [keys.{mode_name}]"))?;
            let section = mode.section();
            // A key two overrides both claim is an error: neither binding can be what the user meant.
            let mut claimed: HashMap<Key, &str> = HashMap::new();
            for (name, key_names) in names {
                let cmd = COMMANDS
                    .iter()
                    .find(|c| c.mode == mode && c.name == name)
                    .map(|c| c.command)
                    .ok_or_else(|| format!("unknown command `{name}` in {section}"))?;
                let parsed: Vec<Key> = key_names
                    .iter()
                    .map(|k| Key::parse(k).ok_or_else(|| format!("cannot read key `{k}` for `{name}` in {section}")))
                    .collect::<Result<_, _>>()?;
                for k in &parsed {
                    if let Some(first) = claimed.insert(*k, name) {
                        return Err(format!("{section}: `{first}` and `{name}` are both bound to `{}`", k.name()));
                    }
                }
                for (other, ks) in keys.iter_mut() {
                    if *other != cmd && other.def().mode == mode {
                        ks.retain(|k| !parsed.contains(k));
                    }
                }
                keys.insert(cmd, parsed);
            }
        }
        let mut by_key = HashMap::new();
        for (cmd, ks) in &keys {
            for k in ks {
                by_key.insert((cmd.def().mode, *k), *cmd);
            }
        }
        Ok(Keymap { by_key, keys })
    }

    /// The command a key event runs in `mode` (None: the mode's own handling, such as typing).
    pub fn lookup(&self, mode: KeyMode, ev: &KeyEvent) -> Option<Command> {
        let key = Key::from_event(ev);
        self.by_key.get(&(mode, key)).copied().or_else(|| {
            let code = match key.code {
                KeyCode::Char(c) => KeyCode::Char(c.to_ascii_lowercase()),
                c => c,
            };
            mode.loose().then(|| self.by_key.get(&(mode, Key { code, mods: KeyModifiers::NONE })).copied()).flatten()
        })
    }

    /// The keys of a command.
    pub fn keys(&self, cmd: Command) -> &[Key] {
        self.keys.get(&cmd).map_or(&[], Vec::as_slice)
    }

    /// The first key of a command, for hints ("" when unbound).
    pub fn first(&self, cmd: Command) -> String {
        self.keys(cmd).first().map(Key::name).unwrap_or_default()
    }

    /// The first key of a command as dialogs and hints show it ([`Key::label`]).
    pub fn label(&self, cmd: Command) -> String {
        self.keys(cmd).first().map(Key::label).unwrap_or_default()
    }

    /// Every command of `mode` with its config name, keys and description (help, --print-config).
    pub fn describe(&self, mode: KeyMode) -> Vec<(&'static str, Vec<String>, &'static str)> {
        COMMANDS
            .iter()
            .filter(|c| c.mode == mode)
            .map(|c| (c.name, self.keys(c.command).iter().map(Key::name).collect(), c.help))
            .collect()
    }

    /// Every binding as overrides spelling out all of them (`sift --print-config`).
    pub fn spelled_out(&self) -> KeyOverrides {
        KeyMode::ALL
            .into_iter()
            .map(|m| {
                let cmds = self.describe(m).into_iter().map(|(name, keys, _)| (name.to_string(), keys)).collect();
                (m.name().to_string(), cmds)
            })
            .collect()
    }
}

impl Command {
    /// The command's entry in [`COMMANDS`].
    pub fn def(self) -> &'static CommandDef {
        // The table is generated in enum order.
        &COMMANDS[self as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(pairs: &[(&str, &str)]) -> KeyOverrides {
        let m = pairs.iter().map(|(c, k)| (c.to_string(), vec![k.to_string()])).collect();
        BTreeMap::from([("normal".to_string(), m)])
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let mut o = normal(&[("accept", "A"), ("reject", "a")]);
        let km = Keymap::new(&o).unwrap();
        let n = KeyMode::Normal;
        let ev = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(km.lookup(n, &KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT)), Some(Command::Accept));
        assert_eq!(km.lookup(n, &ev('a')), Some(Command::Reject));
        assert_eq!(km.lookup(n, &ev('x')), None, "a named command gets exactly the keys given");
        assert_eq!(km.lookup(n, &ev('j')), Some(Command::Down));
        assert_eq!(km.lookup(n, &KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)), Some(Command::Redo));
        o.get_mut("normal").unwrap().insert("undo".to_string(), vec!["a".to_string()]);
        assert_eq!(Keymap::new(&o).unwrap_err(), "[keys]: `reject` and `undo` are both bound to `a`");
        assert!(Keymap::new(&normal(&[("nope", "z")])).is_err());
        assert!(!Command::Down.def().changes_data && Command::Accept.def().changes_data);
        for k in ["ctrl-r", "G", "pgdn", "esc", "f5", "space"] {
            assert_eq!(Key::parse(k).unwrap().name(), k);
        }
    }

    #[test]
    fn every_mode_rebinds_and_reports_conflicts_by_mode() {
        let ev = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        let mut o = KeyOverrides::new();
        o.insert("confirm".into(), BTreeMap::from([("yes".to_string(), vec!["j".to_string()])]));
        let km = Keymap::new(&o).unwrap();
        assert_eq!(km.lookup(KeyMode::Confirm, &ev('j')), Some(Command::ConfirmYes));
        assert_eq!(km.lookup(KeyMode::Confirm, &ev('y')), None, "y is no longer yes");
        assert_eq!(km.lookup(KeyMode::Normal, &ev('j')), Some(Command::Down), "other modes keep their keys");
        assert_eq!(km.lookup(KeyMode::Confirm, &ev('N')), Some(Command::ConfirmNo), "questions take either case");
        assert_eq!(km.lookup(KeyMode::Normal, &ev('N')), Some(Command::PrevMatch));
        o.get_mut("confirm").unwrap().insert("no".into(), vec!["j".into()]);
        assert_eq!(Keymap::new(&o).unwrap_err(), "[keys.confirm]: `no` and `yes` are both bound to `j`");
        let bad = KeyOverrides::from([("dialogs".to_string(), BTreeMap::new())]);
        assert_eq!(Keymap::new(&bad).unwrap_err(), "unknown mode `dialogs` in [keys.dialogs]");
        let wrong_mode = KeyOverrides::from([("editor".to_string(), normal(&[("accept", "a")])["normal"].clone())]);
        assert_eq!(Keymap::new(&wrong_mode).unwrap_err(), "unknown command `accept` in [keys.editor]");
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, c) in COMMANDS.iter().enumerate() {
            assert_eq!(c.command as usize, i, "{} is out of enum order", c.name);
            assert!(!c.help.is_empty(), "{} has no help", c.name);
        }
        for m in KeyMode::ALL {
            let mut seen: HashMap<Key, &str> = HashMap::new();
            for c in COMMANDS.iter().filter(|c| c.mode == m) {
                for k in c.keys {
                    let k = Key::parse(k).unwrap_or_else(|| panic!("{}: bad default key {k}", c.name));
                    if let Some(other) = seen.insert(k, c.name) {
                        panic!("{}: `{other}` and `{}` share `{}`", m.section(), c.name, k.name());
                    }
                }
                let dup = COMMANDS.iter().filter(|d| d.mode == m && d.name == c.name).count();
                assert_eq!(dup, 1, "{} is named twice in {}", c.name, m.section());
            }
            // A mode's table must not look like a normal command's keys in the config.
            assert!(m == KeyMode::Normal || !COMMANDS.iter().any(|c| c.mode == KeyMode::Normal && c.name == m.name()));
        }
    }
}
