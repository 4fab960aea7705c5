//! Keys typed blind: after an update (or a frame) that kept the screen stale for longer than
//! [`STALL`], the keys, clicks and pastes already queued were typed without seeing their effect, so
//! they are dropped instead of running as commands afterwards, and the status line says so.
//! Resizes and other events still go through.

use super::app::App;
use crossterm::event::{Event, KeyEventKind};
use std::time::{Duration, Instant};

/// How long the screen may lag before queued keys count as typed blind.
pub const STALL: Duration = Duration::from_millis(200);

/// Runs `first` and then every queued event (`more` gives the next one, None when the queue is
/// empty) through `handle`; after an event whose handling took longer than [`STALL`], the keys
/// still queued are dropped (see [`drop_queued`]). Stops early when the app quits or asks the
/// event loop for an effect (the external editor).
pub fn dispatch<E>(
    app: &mut App,
    first: Event,
    mut more: impl FnMut() -> Result<Option<Event>, E>,
    mut handle: impl FnMut(&mut App, &Event),
) -> Result<(), E> {
    let mut ev = Some(first);
    while let Some(e) = ev {
        let t = Instant::now();
        handle(app, &e);
        if app.quit || app.effect.is_some() {
            return Ok(());
        }
        if t.elapsed() > STALL {
            return drop_queued(app, t.elapsed(), more, handle);
        }
        ev = more()?;
    }
    Ok(())
}

/// After the UI was busy for `took`: drops the keys, clicks and pastes queued meanwhile (other
/// events go through `handle`) and says how many were dropped.
pub fn drop_queued<E>(
    app: &mut App,
    took: Duration,
    mut more: impl FnMut() -> Result<Option<Event>, E>,
    mut handle: impl FnMut(&mut App, &Event),
) -> Result<(), E> {
    let mut dropped = 0usize;
    while let Some(e) = more()? {
        match &e {
            Event::Key(k) if k.kind == KeyEventKind::Release => {}
            Event::Key(_) | Event::Paste(_) => dropped += 1,
            Event::Mouse(_) => {}
            _ => handle(app, &e),
        }
    }
    if dropped > 0 {
        let note = format!(
            "ignored {dropped} key{} typed during a {:.1} s wait",
            if dropped == 1 { "" } else { "s" },
            took.as_secs_f64()
        );
        let msg = match app.message.take() {
            Some((m, err)) => (format!("{m} · {note}"), err),
            None => (note, false),
        };
        app.message = Some(msg);
    }
    Ok(())
}
