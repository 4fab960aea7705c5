//! Two real `sift batch` processes on one dataset, interleaved at random (start order and delay,
//! pace, `--wait` or not, saves, a kill -9 now and then): counts acknowledged changes lost.
//! Shared by tests/reliability.rs (a few trials) and benches/two_writers.rs (100 trials).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sift::session::{Session, Status};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const RECORDS: usize = 12;

/// What one trial saw.
#[derive(Debug, Default)]
pub struct Trial {
    /// Changes acknowledged with `ok`.
    pub acked: usize,
    /// Acknowledged changes missing from the final state.
    pub lost: Vec<String>,
    /// Writers refused with exit 2 because the other held the file.
    pub refused: usize,
    pub killed: bool,
}

/// One command a writer sent and whether it was acknowledged.
struct Sent {
    cmd: Cmd,
    acked: bool,
}

#[derive(Clone)]
enum Cmd {
    Tag(usize, String),
    Status(usize, Status),
    Edit(usize, String),
    Save,
}

impl Cmd {
    fn line(&self) -> String {
        match self {
            Cmd::Tag(n, t) => format!("tag {n} {t}"),
            Cmd::Status(n, s) => format!("status {n} {s}"),
            Cmd::Edit(n, v) => format!("edit {n} output {v}"),
            Cmd::Save => "save".into(),
        }
    }
}

struct Writer {
    sent: Vec<Sent>,
    /// When it printed its first line (it holds the lock from then until it exits).
    first_line: Option<std::time::Instant>,
    refused: bool,
    killed: bool,
}

fn run_writer(
    bin: &Path,
    file: &Path,
    home: &Path,
    cmds: Vec<Cmd>,
    wait: bool,
    seed: u64,
    kill_after: Option<usize>,
) -> Writer {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut c = Command::new(bin);
    c.arg("batch").arg(file).env("HOME", home).env("XDG_DATA_HOME", home.join("xdg"));
    if wait {
        c.arg("--wait");
    }
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines: Vec<String> = cmds.iter().map(Cmd::line).collect();
    let pace: Vec<u64> = (0..lines.len()).map(|_| rng.random_range(0..3)).collect();
    let feeder = std::thread::spawn(move || {
        for (l, ms) in lines.iter().zip(pace) {
            if writeln!(stdin, "{l}").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(ms));
        }
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut sent: Vec<Sent> = cmds.into_iter().map(|cmd| Sent { cmd, acked: false }).collect();
    let (mut first_line, mut next, mut killed) = (None, 0, false);
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        first_line.get_or_insert_with(std::time::Instant::now);
        if line.starts_with("note ") {
            continue;
        }
        if line.starts_with("ok ") {
            sent[next].acked = true;
        }
        next += 1;
        if kill_after == Some(next) {
            child.kill().unwrap();
            killed = true;
            break;
        }
    }
    let status = child.wait().unwrap();
    let _ = feeder.join();
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
    let refused = status.code() == Some(2);
    if refused {
        assert!(err.contains("is being changed by pid"), "exit 2 must name the holder: {err}");
    } else if !killed {
        assert!(status.success() || status.code() == Some(1), "{status}: {err}");
    }
    Writer { sent, first_line, refused, killed }
}

fn commands(rng: &mut StdRng, who: &str, n: usize) -> Vec<Cmd> {
    (0..n)
        .map(|i| match rng.random_range(0..10) {
            0..4 => Cmd::Tag(rng.random_range(0..RECORDS), format!("{who}-{i}")),
            4..7 => {
                Cmd::Status(rng.random_range(0..RECORDS), [Status::Accepted, Status::Rejected][rng.random_range(0..2)])
            }
            7..9 => Cmd::Edit(rng.random_range(0..RECORDS), format!("{who}-{i}")),
            _ => Cmd::Save,
        })
        .collect()
}

/// Runs two-writer trial `seed` in `dir` with the binary `bin`.
pub fn trial(bin: &Path, dir: &Path, seed: u64) -> Trial {
    run_trial(bin, dir, seed, false)
}

/// One writer killed with SIGKILL after a random number of answers (the kill -9 loop).
pub fn kill_trial(bin: &Path, dir: &Path, seed: u64) -> Trial {
    run_trial(bin, dir, seed, true)
}

fn run_trial(bin: &Path, dir: &Path, seed: u64, solo_kill: bool) -> Trial {
    let mut rng = StdRng::seed_from_u64(seed);
    let file = dir.join("d.jsonl");
    let body: String =
        (0..RECORDS).map(|i| format!("{{\"instruction\": \"q{i}\", \"output\": \"orig-{i}\"}}\n")).collect();
    std::fs::write(&file, body).unwrap();
    let wait = rng.random_bool(0.8);
    let kill = (solo_kill || rng.random_bool(0.25)).then(|| rng.random_range(1..20));
    let (na, nb) = (rng.random_range(5..30), rng.random_range(5..30));
    let (ca, cb) = (commands(&mut rng, "a", na), commands(&mut rng, "b", nb));
    let delay = rng.random_range(0..30);
    let (sa, sb) = (rng.random(), rng.random());
    let (b_file, b_dir, bin_b) = (file.clone(), dir.to_path_buf(), bin.to_path_buf());
    let b = (!solo_kill).then(|| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(delay));
            run_writer(&bin_b, &b_file, &b_dir, cb, wait, sb, None)
        })
    });
    let a = run_writer(bin, &file, dir, ca, wait, sa, kill);
    let mut writers = vec![a];
    writers.extend(b.map(|b| b.join().unwrap()));
    // Serialised order: the writer that printed first held the lock first.
    writers.sort_by_key(|w| w.first_line);
    let mut t = Trial {
        refused: writers.iter().filter(|w| w.refused).count(),
        killed: writers.iter().any(|w| w.killed),
        ..Trial::default()
    };
    let s = Session::open_read_only(&file, None).unwrap();
    for (n, w) in writers.iter().enumerate() {
        for (i, sent) in w.sent.iter().enumerate().filter(|(_, s)| s.acked) {
            t.acked += usize::from(!matches!(sent.cmd, Cmd::Save));
            // What may follow an acknowledged overwrite: later commands of this writer (acknowledged
            // or not: a killed writer may have journaled one it never reported) and of later writers.
            let later = w.sent[i + 1..].iter().chain(writers[n + 1..].iter().flat_map(|w| &w.sent));
            let lost = match &sent.cmd {
                Cmd::Tag(r, tag) => (!s.review(*r).tags.contains(tag)).then(|| sent.cmd.line()),
                Cmd::Status(r, st) => {
                    let now = s.status(*r);
                    let overwritten =
                        later.clone().any(|l| matches!(&l.cmd, Cmd::Status(r2, s2) if r2 == r && *s2 == now));
                    (now != *st && !overwritten).then(|| format!("{} (now {now})", sent.cmd.line()))
                }
                Cmd::Edit(r, v) => {
                    let now = s.dataset().decoded(*r).map(|d| d.record.output.clone()).unwrap_or_default();
                    let overwritten =
                        later.clone().any(|l| matches!(&l.cmd, Cmd::Edit(r2, v2) if r2 == r && *v2 == now));
                    (now != *v && !overwritten).then(|| format!("{} (now {now})", sent.cmd.line()))
                }
                Cmd::Save => None,
            };
            t.lost.extend(lost);
        }
    }
    t
}
