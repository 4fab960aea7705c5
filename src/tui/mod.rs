//! The terminal UI: browse, fix and judge records with the keyboard.
//!
//! State lives in [`app::App`]; events become [`app::Action`]s through the key map
//! ([`update::map_event`]); [`update::update`] is the only place the state changes; and
//! [`render::render`] draws from `&App`. Background work (indexing, flags, search, the model judge)
//! runs on threads and reports through channels that the event loop drains between frames.

pub mod app;
pub mod config;
pub mod histogram;
pub mod index;
mod input;
pub mod jobs;
pub mod keymap;
pub mod render;
pub mod sample;
pub mod score;
pub mod score_view;
pub mod search;
pub mod suggest;
pub mod text;
pub mod training;
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
    let session = match open_with_splash(&mut terminal, &path, format, &term_flag, &mut early) {
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
    let result = event_loop(&mut terminal, &mut app, &term_flag, early);
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    app.jobs.cancel_all();
    app.training.shutdown(|m| eprintln!("{m}"));
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
) -> Result<()> {
    let size = terminal.size()?;
    update::update(app, Action::Resize(size.width, size.height));
    for ev in &early {
        update::handle_event(app, ev);
    }
    terminal.draw(|f| render::render(app, f))?;
    app.start_background();
    let mut dirty = false;
    loop {
        if term.load(Ordering::Relaxed) {
            update::update(app, Action::Terminate);
            return Ok(());
        }
        dirty |= app.poll();
        if dirty {
            terminal.draw(|f| render::render(app, f))?;
            dirty = false;
        }
        let busy = !app.jobs.running.is_empty() || (app.search.matched.is_some() && !app.search.done);
        let wait = if busy || app.training.busy() { Duration::from_millis(40) } else { Duration::from_millis(250) };
        if event::poll(wait)? {
            // Take every pending event, then draw once.
            loop {
                let ev = event::read()?;
                update::handle_event(app, &ev);
                dirty = true;
                if app.quit || app.effect.is_some() || !event::poll(Duration::ZERO)? {
                    break;
                }
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

fn open_with_splash(
    terminal: &mut ratatui::DefaultTerminal,
    path: &Path,
    format: Option<Format>,
    term: &AtomicBool,
    early: &mut Vec<event::Event>,
) -> Result<Option<Session>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(Session::open(&p, &OpenOptions { format, state_dir: None }));
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
        if term.load(Ordering::Relaxed) {
            return Ok(None);
        }
        while event::poll(Duration::ZERO)? {
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

/// Prints the effective configuration (for `sift --print-config`).
pub fn print_config() -> Result<()> {
    let cfg = config::Config::load()?;
    print!("{}", cfg.effective_toml()?);
    Ok(())
}
