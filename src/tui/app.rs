//! The app state, the actions that change it, and the plumbing shared by `update`: the view of
//! records, search results, and keeping search text and signals in step with edits. Feeding the
//! index job is in [`super::index`], taking in a job's results in [`super::update`]. App's fields
//! are typed here or in files that name no `App` (`*_state.rs`, [`super::jobs`], ...), never in the
//! feature code that changes them, so that code and `App` do not import each other.

use super::config::Config;
use super::jobs::{Jobs, SignalStore};
use super::keymap::Keymap;
use super::search::{Query, Searcher, lower, matcher};
use super::view::{Cond, Filter, Sort};
use crate::dataset::{Dataset, Field, Record, RecordTextBuf};
use crate::judge::Signal;
use crate::quality::heuristics::{self, FlagKind};
use crate::session::{Session, Status};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;
use std::collections::HashSet;
use std::time::Instant;

/// Something `update` can do. Keys and mouse events become actions through the key map;
/// background results become actions as the event loop drains their channels
/// ([`super::update::background`]).
pub enum Action {
    /// A normal-mode command from the key map.
    Command(super::keymap::Command),
    /// A key for the open text input, prompt, editor or dialog.
    Input(KeyEvent),
    /// Mouse wheel over the list (true) or the detail pane (false), by lines.
    Wheel {
        list: bool,
        lines: i32,
    },
    /// Click on a list row (screen row).
    Click {
        row: u16,
    },
    Resize(u16, u16),
    /// A frame was drawn with this layout: mouse hits and page sizes go by it.
    Drawn(Areas),
    /// The external editor returned this text for record `id` (None: it failed to run).
    ExternalEdited {
        id: u32,
        text: Option<String>,
        error: Option<String>,
    },
    /// SIGTERM / SIGHUP.
    Terminate,
    /// A background job reported progress, a result or its end.
    Job(super::jobs::JobMsg),
    /// The search worker's results.
    Search(super::search::SearchMsg),
    /// Training, the train dialog's preparation or "try it" reported.
    Train(Box<super::training::state::TrainMsg>),
    /// Work waits to be handed out: the next slice for the index job, the judge's next batch.
    Tick,
}

/// A one-line prompt at the bottom.
#[derive(Clone, Debug, PartialEq)]
pub enum PromptKind {
    Jump,
    Filter,
    Tag,
    Untag,
    Note,
    SaveAs,
}

/// A bulk change waiting for confirmation.
#[derive(Clone, Debug, PartialEq)]
pub enum BulkOp {
    Status(Status),
    Tag(String),
    Untag(String),
    Delete,
}

/// A question that blocks everything else until answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Dialog {
    Bulk { op: BulkOp, ids: Vec<u32> },
    SaveConflict,
    Quit,
    InvalidJson { id: u32, text: String, error: String },
}

/// The in-place field editor.
pub struct Editor {
    pub id: u32,
    pub field: Field,
    pub label: String,
    pub original: String,
    pub area: TextArea<'static>,
}

/// Where keys go (`Train`: a training question, [`super::training::Ask`]).
pub enum Mode {
    Normal,
    Search,
    Prompt {
        kind: PromptKind,
        text: String,
    },
    Edit(Box<Editor>),
    Help,
    Dialog(Dialog),
    Train,
    /// The frequency view ([`super::frequency`]).
    Frequency,
}

/// Work the event loop does outside `update` (it needs the terminal).
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    ExternalEdit { id: u32, text: String },
}

/// The live search.
#[derive(Default)]
pub struct SearchState {
    pub query: String,
    pub generation: u64,
    /// Ids matched so far (None: no search active).
    pub matched: Option<HashSet<u32>>,
    pub done: bool,
    pub scanned: usize,
    pub total: usize,
    pub started: Option<Instant>,
    pub first_result_ms: Option<f64>,
    /// The edit clock when the search started: records changed since were matched at the change.
    pub since: u64,
}

pub use super::conversation_state::{FieldView, record_fields};

/// The searchable fields of a record.
pub fn search_fields(r: &Record) -> RecordTextBuf {
    // The input slot also holds a conversation's earlier turns, tool calls and rejected response.
    RecordTextBuf {
        instruction: r.instruction.as_str().into(),
        input: r.input_and_context().into(),
        output: r.output.as_str().into(),
    }
}

/// The length signal of a record.
pub fn record_len(f: &RecordTextBuf) -> f32 {
    let t = f.as_text();
    Signal::Len.of_text(t.instruction, t.input, t.output).expect("len is computed from the text")
}

// The small states of features, held here so that `app.rs` names no feature file (a feature's
// code names `App`, so `App` naming it back would make an import circle; tests/architecture.rs).

/// Where everything went in the last frame drawn (all empty before the first; [`super::render`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub list: Rect,
    pub detail: Rect,
    pub status: Rect,
    pub hints: Rect,
    /// The list row drawn at the top of the list.
    pub offset: usize,
}

/// A rectangle of at most `w` x `h` centred in `area` (where a popup goes).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

/// Whether the histogram panel is shown, and which signal it shows ([`super::histogram`]).
#[derive(Clone, Debug, Default)]
pub struct HistogramState {
    pub shown: bool,
    /// Chosen with the `histogram_next` key; None: the sort key, else the headline signal, else length.
    pub signal: Option<Signal>,
}

/// One row of the frequency table ([`super::frequency`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// status, tag, flag, category or suggest.
    pub group: &'static str,
    pub value: String,
    pub count: usize,
    /// The conditions that select the row's records.
    pub conds: Vec<Cond>,
}

/// The frequency view's state: the rows counted when it opened, the cursor, and the way back after Enter.
#[derive(Clone, Debug, Default)]
pub struct FrequencyState {
    pub rows: Vec<Row>,
    /// Records counted (those shown when the view opened).
    pub total: usize,
    pub cursor: usize,
    /// After Enter: (the filter before, the filter Enter set); Esc with the latter still in place
    /// restores the former and reopens the view.
    pub back: Option<(Filter, Filter)>,
}

/// Records' bytes on their way to the index job.
#[derive(Default)]
pub struct Batch {
    pub ids: Vec<u32>,
    pub raws: Vec<u8>,
    pub spans: Vec<(usize, usize)>,
}

/// The UI side of a running index job ([`super::index`]).
pub struct Feed {
    pub next: usize,
    pub tx: std::sync::mpsc::Sender<Batch>,
    pub cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Shows `msg` in the status line.
pub fn say(app: &mut App, msg: impl Into<String>) {
    app.message = Some((msg.into(), false));
}

/// Shows `e` in the status line as an error.
pub fn fail(app: &mut App, e: impl std::fmt::Display) {
    app.message = Some((e.to_string(), true));
}

/// The whole state of the TUI.
pub struct App {
    pub session: Session,
    pub config: Config,
    pub keymap: Keymap,
    pub mode: Mode,
    /// Positions shown, in order (None: every record in file order).
    pub view: Option<Vec<usize>>,
    pub cursor: usize,
    pub offset: usize,
    pub size: (u16, u16),
    /// Where the last frame put everything ([`Action::Drawn`]).
    pub areas: Areas,
    pub filter: Filter,
    pub sort: Sort,
    pub search: SearchState,
    pub selection: HashSet<u32>,
    pub visual: Option<usize>,
    /// The record view: focused item, search-match following.
    pub conversation: super::conversation_state::ConversationState,
    pub detail_scroll: u16,
    pub help_scroll: u16,
    pub message: Option<(String, bool)>,
    pub signals: SignalStore,
    pub jobs: Jobs,
    /// Training runs, their panel and "try it".
    pub training: super::training::state::Training,
    pub judge: super::score_state::JudgeState,
    pub histogram: HistogramState,
    pub frequency: FrequencyState,
    /// The last large record decoded for drawing.
    pub record_cache: super::record_cache::RecordCache,
    /// The review loop: suggestions learnt from the decisions and the review queue.
    pub suggest: super::suggest_state::SuggestState,
    pub searcher: Searcher,
    pub indexed: bool,
    pub effect: Option<Effect>,
    pub quit: bool,
    /// Ids each undoable change touched, mirroring the session's undo/redo stacks (None: unknown).
    pub(super) touched_undo: Vec<Option<Vec<u32>>>,
    pub(super) touched_redo: Vec<Option<Vec<u32>>>,
    pos_of: Vec<u32>,
    pos_dirty: bool,
    pub(super) feed: Option<Feed>,
    /// Cached [`Session::is_modified`] and [`Session::status_counts`] (both scan every record).
    pub modified: bool,
    pub counts: [usize; 4],
}

impl App {
    /// The app over an open session. Nothing is scanned here: the first frame comes at once;
    /// call [`App::start_background`] after it.
    pub fn new(session: Session, config: Config) -> Result<App, String> {
        let keymap = config.keymap()?;
        let mut notices: Vec<String> = session.notices().to_vec();
        let problems = session.dataset().problems().len();
        if problems > 0 {
            notices.push(format!("{problems} problems in the file (sift check lists them)"));
        }
        let message = (!notices.is_empty()).then(|| (notices.join("; "), false));
        let touched_undo = if session.can_undo() { vec![None] } else { Vec::new() };
        Ok(App {
            session,
            training: super::training::state::Training::new(config.train.clone()),
            config,
            keymap,
            mode: Mode::Normal,
            view: None,
            cursor: 0,
            offset: 0,
            size: (80, 24),
            areas: Default::default(),
            filter: Filter::default(),
            sort: Sort::default(),
            search: SearchState::default(),
            selection: HashSet::new(),
            visual: None,
            conversation: Default::default(),
            detail_scroll: 0,
            help_scroll: 0,
            message,
            signals: SignalStore::default(),
            jobs: Jobs::default(),
            judge: Default::default(),
            histogram: Default::default(),
            frequency: Default::default(),
            record_cache: Default::default(),
            suggest: Default::default(),
            searcher: Searcher::new(),
            indexed: false,
            effect: None,
            quit: false,
            touched_undo,
            touched_redo: Vec::new(),
            pos_of: Vec::new(),
            pos_dirty: true,
            feed: None,
            modified: false,
            counts: [0; 4],
        })
        .map(|mut app| {
            app.refresh_cached();
            app
        })
    }

    pub(super) fn absorb_search(&mut self, ids: Vec<u32>, done: bool) {
        if self.search.first_result_ms.is_none() && !ids.is_empty() {
            self.search.first_result_ms = self.search.started.map(|t| t.elapsed().as_secs_f64() * 1e3);
        }
        self.ensure_pos();
        let mut add = Vec::new();
        for id in ids {
            if self.signals.is_stale(id, self.search.since) {
                continue;
            }
            if let Some(&p) = self.pos_of.get(id as usize)
                && p != u32::MAX
                && self.filter.passes(&self.session, &self.signals, p as usize)
            {
                add.push(p as usize);
            }
            if let Some(m) = self.search.matched.as_mut() {
                m.insert(id);
            }
        }
        let view = self.view.get_or_insert_with(Vec::new);
        view.extend(add);
        if done {
            self.search.done = true;
            let keep = self.current_id();
            let mut v = self.view.take().unwrap_or_default();
            self.sort.apply(&self.session, &self.signals, &mut v);
            self.view = Some(v);
            self.restore_cursor(keep, self.cursor);
        }
    }

    /// Starts (or restarts) the search for the current query.
    pub fn run_search(&mut self) {
        self.search.generation += 1;
        let q = Query::parse(&self.search.query);
        if q.pattern.is_empty() {
            self.searcher.cancel(self.search.generation);
            self.search.matched = None;
            self.refresh_view();
            return;
        }
        self.search.matched = Some(HashSet::new());
        self.search.done = false;
        self.search.scanned = 0;
        self.search.started = Some(Instant::now());
        self.search.first_result_ms = None;
        self.search.since = self.jobs.clock;
        self.view = Some(Vec::new());
        self.cursor = 0;
        self.offset = 0;
        self.searcher.request(self.search.generation, q);
    }

    fn ensure_pos(&mut self) {
        if !self.pos_dirty {
            return;
        }
        let ds = self.session.dataset();
        let mut pos_of = vec![u32::MAX; ds.next_id() as usize];
        for (p, e) in ds.entries().iter().enumerate() {
            if let Some(slot) = pos_of.get_mut(e.id as usize) {
                *slot = p as u32;
            }
        }
        self.pos_of = pos_of;
        self.pos_dirty = false;
    }

    /// Number of records shown.
    pub fn shown(&self) -> usize {
        self.view.as_ref().map_or(self.session.dataset().len(), Vec::len)
    }

    /// The position of the record at list row `i`.
    pub fn pos_at(&self, i: usize) -> Option<usize> {
        match &self.view {
            None => (i < self.session.dataset().len()).then_some(i),
            Some(v) => v.get(i).copied(),
        }
    }

    /// The record under the cursor.
    pub fn current(&self) -> Option<usize> {
        self.pos_at(self.cursor)
    }

    pub fn current_id(&self) -> Option<u32> {
        self.current().and_then(|p| self.session.dataset().entry(p)).map(|e| e.id)
    }

    /// Recomputes the view after filters, sort or data changed, keeping the cursor on its record.
    pub fn refresh_view(&mut self) {
        let keep = self.current_id();
        let old_cursor = self.cursor;
        let n = self.session.dataset().len();
        if self.filter.is_empty() && self.search.matched.is_none() && self.sort.key.is_none() && !self.sort.descending {
            self.view = None;
        } else {
            self.ensure_pos();
            let mut v: Vec<usize> = match &self.search.matched {
                Some(ids) => ids
                    .iter()
                    .filter_map(|&id| self.pos_of.get(id as usize).filter(|&&p| p != u32::MAX).map(|&p| p as usize))
                    .collect(),
                None => (0..n).collect(),
            };
            if !self.filter.is_empty() {
                v.retain(|&p| self.filter.passes(&self.session, &self.signals, p));
            }
            self.sort.apply(&self.session, &self.signals, &mut v);
            self.view = Some(v);
        }
        self.restore_cursor(keep, old_cursor);
    }

    fn restore_cursor(&mut self, keep: Option<u32>, old: usize) {
        let found = keep.and_then(|id| {
            let pos = self.session.dataset().position(id)?;
            match &self.view {
                None => Some(pos),
                Some(v) => v.iter().position(|&p| p == pos),
            }
        });
        self.cursor = found.unwrap_or(old);
        self.clamp();
    }

    /// Keeps cursor and scroll offset inside the list (before the first frame only the cursor:
    /// the frame places the list).
    pub fn clamp(&mut self) {
        let n = self.shown();
        self.cursor = self.cursor.min(n.saturating_sub(1));
        let rows = self.list_rows();
        if rows > 0 {
            self.offset = list_offset(self.offset, self.cursor, rows, n);
        }
    }

    /// Rows of the list in the last frame drawn (0 before the first).
    pub fn list_rows(&self) -> usize {
        self.areas.list.height.saturating_sub(2) as usize
    }

    /// The records an action applies to: the visual range plus the selection, else the cursor.
    pub fn targets(&self) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        if let Some(anchor) = self.visual {
            let (a, b) = (anchor.min(self.cursor), anchor.max(self.cursor));
            out.extend((a..=b).filter_map(|i| self.pos_at(i)));
        }
        if !self.selection.is_empty() {
            let ds = self.session.dataset();
            out.extend(self.selection.iter().filter_map(|&id| ds.position(id)));
        }
        if out.is_empty() {
            out.extend(self.current());
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether list row `i` is selected (visual range or selection).
    pub fn is_selected(&self, i: usize, id: u32) -> bool {
        self.visual.is_some_and(|a| (a.min(self.cursor)..=a.max(self.cursor)).contains(&i))
            || self.selection.contains(&id)
    }

    /// After a change to the session: keeps search text, signals and the view in step.
    /// `touched`: the ids changed (None: unknown, everything is re-indexed).
    pub fn changed(&mut self, touched: Option<Vec<u32>>, structural: bool) {
        if structural || touched.is_none() {
            // Records came or went (or anything may have): duplicates are a property of the whole
            // set and their reasons name records by position, so the index runs again; flags from
            // jobs started before now are dropped.
            self.pos_dirty = true;
            self.jobs.clock += 1;
            self.signals.reshaped_at = self.jobs.clock;
            self.start_background();
        }
        match &touched {
            Some(ids) => self.reindex(ids),
            None => {
                let ids = self.session.dataset().entries().iter().filter(|e| !e.malformed).map(|e| e.id);
                if self.judge.all_touched(ids) {
                    self.signals.drop_all_judged();
                }
            }
        }
        // A decision or an edit moves nothing unless a filter or search decides what is shown
        // (re-sorting 1M records per keystroke would be felt).
        if structural || touched.is_none() || !self.filter.is_empty() || self.search.matched.is_some() {
            self.refresh_view();
        }
    }

    /// Recomputes the cached modified flag and status counts.
    pub fn refresh_cached(&mut self) {
        self.modified = self.session.is_modified();
        self.counts = self.session.status_counts();
    }

    /// Re-reads the text, length, flags and search match of records after a change; their results
    /// from jobs started before are stale now, and so are their scores if their text changed.
    pub fn reindex(&mut self, ids: &[u32]) {
        let ds = self.session.dataset();
        for &id in ids {
            let Some(rec) = ds.position(id).and_then(|p| ds.record(p)) else { continue };
            let fields = search_fields(&rec);
            self.jobs.clock += 1;
            self.signals.changed_at.insert(id, self.jobs.clock);
            self.signals.numeric.entry(Signal::Len).or_default().insert(id, record_len(&fields));
            if self.config.front.options.flags {
                let text = fields.as_text();
                let mut flags = heuristics::flag_record(&text, &self.config.flags);
                let keep = self
                    .signals
                    .flags(id)
                    .iter()
                    .filter(|f| matches!(f.kind, FlagKind::Duplicate | FlagKind::NearDuplicate));
                flags.extend(keep.cloned());
                if flags.is_empty() {
                    self.signals.flags.remove(&id);
                } else {
                    self.signals.flags.insert(id, flags);
                }
            }
            self.searcher.update(id, &fields);
            if let Some(m) = self.search.matched.as_mut() {
                if Query::parse(&self.search.query).matches(&matcher(), &lower(&fields)) {
                    m.insert(id);
                } else {
                    m.remove(&id);
                }
            }
            if self.judge.touched(id, &fields) {
                self.signals.drop_judged(id);
            }
        }
    }
}

/// The first list row to show so that row `cursor` is on screen: `offset` moved as little as
/// possible, with no empty rows at the bottom (`rows` on screen, `n` in the list).
pub fn list_offset(offset: usize, cursor: usize, rows: usize, n: usize) -> usize {
    let rows = rows.max(1);
    let mut o = offset;
    if cursor < o {
        o = cursor;
    } else if cursor >= o + rows {
        o = cursor + 1 - rows;
    }
    o.min(n.saturating_sub(rows)).min(cursor)
}

/// Whether raw record text is a JSON object the dataset accepts.
pub fn validate(text: &str) -> Result<(), String> {
    Dataset::validate_raw(text.as_bytes()).map_err(|e| e.to_string())
}
