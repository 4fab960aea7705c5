//! `stats`, `check`, `set`, `edit`: dataset commands that need no model.

use crate::dataset::{Field, Format, Problem};
use crate::session::{OpenOptions, Session, Status};
use crate::terminal_text::{json as safe_json, path as shown, visible, visible_lines};
use anyhow::{Context, Result};
use std::path::Path;

/// Opens for writing; another writer makes this fail with its name (exit 2), or with `wait`
/// waits for it.
fn open(file: &Path, format: Option<Format>, wait: bool) -> Result<Session> {
    Ok(Session::open_waiting(file, &OpenOptions { format, state_dir: None }, wait)?)
}

pub fn stats(file: &Path, format: Option<Format>, json: bool) -> Result<i32> {
    let session = Session::open_read_only(file, format)?;
    let stats = crate::stats::compute(&session);
    if json {
        println!("{}", safe_json(&serde_json::to_string_pretty(&stats)?));
    } else {
        print!("{}", visible_lines(&stats.to_text()));
    }
    Ok(0)
}

/// Every problem in the file: what was found at open plus field issues of each decodable record.
pub fn all_problems(session: &Session) -> Vec<Problem> {
    session.dataset().all_problems()
}

pub fn check(file: &Path, format: Option<Format>, json: bool) -> Result<i32> {
    let session = Session::open_read_only(file, format)?;
    let problems = all_problems(&session);
    if json {
        println!("{}", safe_json(&serde_json::to_string_pretty(&problems)?));
    } else {
        for p in &problems {
            let rec = p.record.map(|r| format!(" (record {r})")).unwrap_or_default();
            println!("line {}: {}{rec}", p.line, visible(&p.message));
        }
        let n = session.dataset().len();
        eprintln!("{}: {} records, {} problems", shown(file), n, problems.len());
    }
    Ok(if problems.is_empty() { 0 } else { 1 })
}

#[allow(clippy::too_many_arguments)]
pub fn set(
    file: &Path,
    format: Option<Format>,
    wait: bool,
    index: usize,
    status: Option<Status>,
    tags: &[String],
    untags: &[String],
    note: Option<&str>,
) -> Result<i32> {
    let mut session = open(file, format, wait)?;
    if let Some(s) = status {
        session.set_status(&[index], s)?;
    }
    for t in tags {
        session.add_tag(&[index], t)?;
    }
    for t in untags {
        session.remove_tag(&[index], t)?;
    }
    if let Some(n) = note {
        session.set_note(index, n)?;
    }
    session.checkpoint()?;
    let r = session.review(index);
    println!(
        "record {index}: {}{}",
        r.status,
        if r.tags.is_empty() { String::new() } else { format!(" [{}]", visible(&r.tags.join(", "))) }
    );
    Ok(0)
}

pub struct EditArgs<'a> {
    pub index: usize,
    pub field: Field,
    pub value: &'a str,
    /// Overwrite a file changed on disk or marked read-only.
    pub force: bool,
    /// Save to this file instead (the only way for a read-only source).
    pub save_as: Option<&'a Path>,
    pub wait: bool,
}

pub fn edit(file: &Path, format: Option<Format>, a: EditArgs<'_>) -> Result<i32> {
    let EditArgs { index, field, value, force, save_as, wait } = a;
    let mut session = open(file, format, wait)?;
    let source = session.dataset().source();
    if source.is_read_only() && save_as.is_none() {
        // Refused before the edit is made, so nothing waits in the journal.
        return Err(crate::session::SessionError::ReadOnlySource { file: shown(file), what: source.describe() }.into());
    }
    session.set_field(index, field, value)?;
    let kept = || format!("the edit is kept in the journal of {}", shown(file));
    match save_as {
        Some(to) => {
            session.save_as(to).with_context(kept)?;
            println!("record {index}: saved to {}", shown(to));
        }
        None => {
            session.save(force).with_context(kept)?;
            println!("record {index}: saved");
        }
    }
    Ok(0)
}

/// Applies commands read from `input`, one per line, writing `ok ...` after each acknowledged
/// (journaled) change or `error: ...`. Nothing is saved unless a `save` command says so.
pub fn batch(
    file: &Path,
    format: Option<Format>,
    wait: bool,
    input: impl std::io::BufRead,
    mut out: impl std::io::Write,
) -> Result<i32> {
    let mut session = open(file, format, wait)?;
    for notice in session.notices() {
        writeln!(out, "note {}", visible(notice))?;
    }
    let mut failures = 0;
    for line in input.lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match batch_command(&mut session, line) {
            Ok(msg) => writeln!(out, "ok {}", visible(&msg))?,
            Err(e) => {
                failures += 1;
                writeln!(out, "error: {}", visible(&format!("{e:#}")))?;
            }
        }
        out.flush()?;
    }
    session.checkpoint()?;
    Ok(i32::from(failures > 0))
}

/// Text argument: a JSON string literal (for newlines and quotes) or the rest of the line as is.
fn text_arg(rest: &str) -> Result<String> {
    if rest.starts_with('"') {
        Ok(serde_json::from_str(rest).context("text argument is not a valid JSON string")?)
    } else {
        Ok(rest.to_string())
    }
}

fn batch_command(session: &mut Session, line: &str) -> Result<String> {
    let mut parts = line.splitn(3, ' ');
    let cmd = parts.next().unwrap_or_default();
    let arg1 = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    let index = || -> Result<usize> { arg1.parse().with_context(|| format!("`{cmd}` needs a record index")) };
    Ok(match cmd {
        "status" => {
            let status = Status::from_name(rest.trim()).with_context(|| format!("unknown status `{rest}`"))?;
            session.set_status(&[index()?], status)?;
            format!("{status} #{arg1}")
        }
        "tag" => format!("tagged {}", session.add_tag(&[index()?], rest.trim())?),
        "untag" => format!("untagged {}", session.remove_tag(&[index()?], rest.trim())?),
        "note" => {
            session.set_note(index()?, &text_arg(rest)?)?;
            format!("note #{arg1}")
        }
        "edit" => {
            let (field, text) = rest.split_once(' ').unwrap_or((rest, ""));
            let field = Field::from_name(field).with_context(|| format!("unknown field `{field}`"))?;
            session.set_field(index()?, field, &text_arg(text)?)?;
            format!("edit #{arg1}")
        }
        "insert" => format!("insert #{}", session.insert_blank(index()?)?),
        "duplicate" => format!("insert #{}", session.duplicate(index()?)?),
        "delete" => format!("deleted {}", session.delete(&[index()?])?),
        "undo" => format!("undo {}", session.undo()?.unwrap_or_else(|| "nothing".into())),
        "redo" => format!("redo {}", session.redo()?.unwrap_or_else(|| "nothing".into())),
        "save" => {
            session.save(false)?;
            "saved".into()
        }
        "save!" => {
            session.save(true)?;
            "saved".into()
        }
        "save-as" => {
            let to = [arg1, rest].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ");
            anyhow::ensure!(!to.is_empty(), "`save-as` needs a file name");
            session.save_as(Path::new(&to))?;
            format!("saved as {}", shown(Path::new(&to)))
        }
        _ => anyhow::bail!(
            "unknown command `{cmd}` (status, tag, untag, note, edit, insert, duplicate, delete, undo, redo, save, \
             save!, save-as)"
        ),
    })
}
