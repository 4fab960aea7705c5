//! The terminal UI: browse, fix and judge records with the keyboard.
//!
//! State lives in [`app::App`]; terminal events become [`app::Action`]s through the key map
//! ([`update::map_event`]), and so do background results: work on threads (indexing, flags,
//! search, the model judge, training, "try it") reports through channels that the event loop
//! drains into actions between frames ([`update::background`]). [`update::update`] is the only
//! place the state changes. [`render::render`] draws from `&App` and hands back the layout it
//! drew, which goes to `update` as [`app::Action::Drawn`].

pub mod app;
pub mod config;
pub mod conversation;
pub mod conversation_state;
pub mod detail_window;
mod edits;
pub mod frequency;
pub mod histogram;
pub mod index;
mod input;
pub mod jobs;
pub mod keymap;
pub mod record_cache;
pub mod render;
pub mod sample;
pub mod score;
pub mod score_resume;
pub mod score_scope;
pub mod score_state;
pub mod score_view;
pub mod search;
pub mod suggest;
pub mod suggest_state;
pub mod suggest_view;
pub mod text;
pub mod training;
pub mod typeahead;
pub mod update;
pub mod view;

use crate::dataset::Format;
use crate::session::{OpenOptions, Session};
use anyhow::{Context, Result};
use app::{Action, App, Effect};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Opens `path` (the bundled sample when None) in the TUI, judging with the model in `model` (the
/// default model when None); returns when the user quits.
pub fn run(path: Option<&Path>, format: Option<Format>, model: Option<&Path>) -> Result<()> {
    let config = config::Config::load()?;
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => sample::sample_path()?,
    };
    let term_flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, term_flag.clone()).context("cannot watch signals")?;
    }
    let mut terminal = ratatui::try_init().context("cannot set up the terminal (is this a terminal?)")?;
    // ratatui's panic hook restores the screen; mouse reporting must go off too.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        prev(info);
    }));
    // Open on a worker thread: the screen says what is happening and q / Ctrl-c still work.
    let mut early = Vec::new();
    let input = TerminalInput::new();
    let session = match open_with_splash(&mut terminal, &path, format, &term_flag, &mut early, &input) {
        Ok(Some(s)) => s,
        Ok(None) => {
            ratatui::restore();
            return Ok(());
        }
        Err(e) => {
            ratatui::restore();
            return Err(e);
        }
    };
    let mut app = match App::new(session, config) {
        Ok(a) => a,
        Err(e) => {
            ratatui::restore();
            anyhow::bail!(e);
        }
    };
    app.judge.model_dir = model.map(Path::to_path_buf);
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let result = event_loop(&mut terminal, &mut app, &term_flag, early, &input);
    let gone = input.closed();
    if gone {
        // The terminal went away: nothing to restore, and ratatui's restore and the terminal's drop
        // would report that with eprintln!, which panics on the closed terminal.
        std::mem::forget(terminal);
    } else {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
    app.jobs.cancel_all();
    app.training.shutdown(|m| {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{m}");
    });
    let saved = app.session.checkpoint();
    result?;
    saved.context("cannot store the review state")?;
    Ok(())
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    term: &AtomicBool,
    early: Vec<event::Event>,
    input: &TerminalInput,
) -> Result<()> {
    let size = terminal.size()?;
    update::update(app, Action::Resize(size.width, size.height));
    for ev in &early {
        update::handle_event(app, ev);
    }
    draw(terminal, app)?;
    app.start_background();
    let mut dirty = false;
    loop {
        // SIGTERM, SIGHUP, or a terminal that went away: quit like `q` (the caller checkpoints).
        if term.load(Ordering::Relaxed) || input.closed() {
            update::update(app, Action::Terminate);
            return Ok(());
        }
        let busy_since = std::time::Instant::now();
        for action in update::background(app) {
            update::update(app, action);
            dirty = true;
        }
        if dirty {
            draw(terminal, app)?;
            dirty = false;
        }
        if busy_since.elapsed() > typeahead::STALL {
            // Taking in background results (or drawing) kept the screen stale: keys typed
            // meanwhile were typed blind.
            typeahead::drop_queued(app, busy_since.elapsed(), || queued(input), update::handle_event)?;
            dirty = true;
        }
        let busy = !app.jobs.running.is_empty() || (app.search.matched.is_some() && !app.search.done);
        let wait = if busy || app.training.busy() { Duration::from_millis(40) } else { Duration::from_millis(250) };
        // Wait on the terminal ourselves: crossterm reads a closed terminal in a loop forever, so
        // it is only asked once there is input (or a queued event).
        if event::poll(Duration::ZERO)? || input.wait(wait) {
            // Take every pending event, then draw once; keys queued behind a slow update are
            // dropped (typeahead.rs).
            if !input.closed() {
                let first = event::read()?;
                typeahead::dispatch(app, first, || queued(input), update::handle_event)?;
                dirty = true;
            }
        } else if busy {
            dirty = true;
        }
        if let Some(Effect::ExternalEdit { id, text }) = app.effect.take() {
            let (text, error) = external_edit(terminal, &text);
            update::update(app, Action::ExternalEdited { id, text, error });
            dirty = true;
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// Draws a frame and hands its layout to `update`.
fn draw(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> Result<()> {
    let mut areas = app::Areas::default();
    terminal.draw(|f| areas = render::render(app, f))?;
    update::update(app, Action::Drawn(areas));
    Ok(())
}

/// The next event already queued (None when there is none or the terminal is gone).
fn queued(input: &TerminalInput) -> std::io::Result<Option<event::Event>> {
    if input.closed() || !event::poll(Duration::ZERO)? {
        return Ok(None);
    }
    event::read().map(Some)
}

fn open_with_splash(
    terminal: &mut ratatui::DefaultTerminal,
    path: &Path,
    format: Option<Format>,
    term: &AtomicBool,
    early: &mut Vec<event::Event>,
    input: &TerminalInput,
) -> Result<Option<Session>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        // Another process is changing the file: look at it read-only, saying who has it.
        let opened = match Session::open(&p, &OpenOptions { format, state_dir: None }) {
            Err(e @ crate::session::SessionError::Locked { .. }) => Session::open_read_only(&p, format).map(|mut s| {
                s.push_notice(format!("opened read-only: {e}"));
                s
            }),
            other => other,
        };
        let _ = tx.send(opened);
    });
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let started = std::time::Instant::now();
    loop {
        terminal.draw(|f| render::render_opening(f, &name, size, started.elapsed().as_secs_f64()))?;
        match rx.recv_timeout(Duration::from_millis(40)) {
            Ok(r) => return Ok(Some(r.with_context(|| format!("cannot open {}", path.display()))?)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!("opening {} failed", path.display()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if term.load(Ordering::Relaxed) || input.closed() {
            return Ok(None);
        }
        while !input.closed() && event::poll(Duration::ZERO)? {
            let ev = event::read()?;
            if let event::Event::Key(k) = &ev {
                let ctrl_c = k.code == event::KeyCode::Char('c') && k.modifiers.contains(event::KeyModifiers::CONTROL);
                if ctrl_c || k.code == event::KeyCode::Char('q') || k.code == event::KeyCode::Esc {
                    return Ok(None);
                }
            }
            // Typed ahead: replayed once the file is open.
            early.push(ev);
        }
    }
}

/// Suspends the TUI, edits `text` in $VISUAL / $EDITOR (vi when unset), restores the TUI.
fn external_edit(terminal: &mut ratatui::DefaultTerminal, text: &str) -> (Option<String>, Option<String>) {
    let dir = std::env::temp_dir();
    let file = dir.join(format!("sift-edit-{}.json", std::process::id()));
    if let Err(e) = std::fs::write(&file, text) {
        return (None, Some(e.to_string()));
    }
    let editor = std::env::var("VISUAL").or_else(|_| std::env::var("EDITOR")).unwrap_or_else(|_| "vi".into());
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    let status =
        std::process::Command::new("sh").arg("-c").arg(format!("{editor} \"$1\"")).arg("sh").arg(&file).status();
    *terminal = ratatui::init();
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let _ = terminal.clear();
    let out = match status {
        Ok(s) if s.success() => match std::fs::read_to_string(&file) {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e.to_string())),
        },
        Ok(s) => (None, Some(format!("{editor} exited with {s}"))),
        Err(e) => (None, Some(format!("cannot run {editor}: {e}"))),
    };
    if out.0.is_some() {
        let _ = std::fs::remove_file(&file);
    }
    out
}

/// The terminal's input side, watched for hang-up and end of input (read returning 0), which
/// crossterm would otherwise read in a loop at 100% of a core.
struct TerminalInput {
    fd: std::os::fd::RawFd,
    /// `/dev/tty` when standard input is not the terminal (crossterm reads from it then).
    _tty: Option<std::fs::File>,
}

impl TerminalInput {
    fn new() -> TerminalInput {
        use std::os::fd::AsRawFd;
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(0) } == 1 {
            return TerminalInput { fd: 0, _tty: None };
        }
        match std::fs::File::open("/dev/tty") {
            Ok(f) => TerminalInput { fd: f.as_raw_fd(), _tty: Some(f) },
            Err(_) => TerminalInput { fd: 0, _tty: None },
        }
    }

    /// poll(2) on the input for up to `wait`; the returned events (0 on timeout or a signal).
    fn poll(&self, wait: Duration) -> libc::c_short {
        let mut p = libc::pollfd { fd: self.fd, events: libc::POLLIN, revents: 0 };
        let ms = wait.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n > 0 { p.revents } else { 0 }
    }

    /// Whether the terminal is gone: hung up, or readable with nothing to read (end of input).
    fn closed(&self) -> bool {
        let ev = self.poll(Duration::ZERO);
        if ev & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
            return true;
        }
        if ev & libc::POLLIN == 0 {
            return false;
        }
        let mut avail: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        let r = unsafe { libc::ioctl(self.fd, libc::FIONREAD, &mut avail) };
        r == 0 && avail == 0
    }

    /// Waits up to `wait` for input (a signal such as SIGTERM or SIGWINCH ends the wait early).
    fn wait(&self, wait: Duration) -> bool {
        self.poll(wait) & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
    }
}
