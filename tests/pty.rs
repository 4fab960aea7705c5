//! The real binary in a pseudo-terminal: it starts, draws, takes keys, and saves.

#![cfg(unix)]

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

type Screen = Arc<Mutex<Vec<u8>>>;

/// Starts sift on `data` in a new pseudo-terminal (100x30); returns the child, its keyboard, and
/// everything it wrote to the screen so far.
fn spawn(dir: &Path, data: Option<&Path>) -> (std::process::Child, std::fs::File, Screen) {
    spawn_with(dir, data, Arc::new(AtomicBool::new(false)))
}

/// [`spawn`]; setting `hang_up` makes the screen reader let go of the terminal, so that dropping
/// the keyboard closes it (the terminal window went away).
fn spawn_with(
    dir: &Path,
    data: Option<&Path>,
    hang_up: Arc<AtomicBool>,
) -> (std::process::Child, std::fs::File, Screen) {
    let (mut master, mut slave) = (0, 0);
    let ws = libc::winsize { ws_row: 30, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty writes two fds into the out-pointers; the rest are valid or null.
    let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &ws) };
    assert_eq!(rc, 0, "openpty failed");
    // The master must not leak into children (sift's own included): it would keep the terminal open.
    // SAFETY: fcntl on the fd openpty just returned.
    unsafe { libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: both fds were just opened and are owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };

    // An empty config: the user's own does not apply (SIFT_CONFIG must name a file).
    let config = dir.join("empty-config.toml");
    std::fs::write(&config, "").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sift"));
    cmd.args(data)
        .env("SIFT_CONFIG", &config)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("xdg"))
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    drop(cmd);

    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut reader = std::fs::File::from(master.try_clone().unwrap());
    let sink = screen.clone();
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let mut buf = [0u8; 8192];
        while !hang_up.load(Ordering::Relaxed) {
            let mut p = libc::pollfd { fd: reader.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd for the duration of the call.
            if unsafe { libc::poll(&mut p, 1, 20) } <= 0 {
                continue;
            }
            match reader.read(&mut buf) {
                Ok(n) if n > 0 => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
    });
    let keys = std::fs::File::from(master);
    (child, keys, screen)
}

#[test]
fn binary_starts_takes_keys_and_saves() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.json");
    let text = "[\n    {\n        \"instruction\": \"Say hi.\",\n        \"input\": \"\",\n        \"output\": \"Hi.\"\n    },\n    {\n        \"instruction\": \"Say bye.\",\n        \"input\": \"\",\n        \"output\": \"Bye.\"\n    }\n]\n";
    std::fs::write(&data, text).unwrap();

    let (child, mut keys, screen) = spawn(dir.path(), Some(&data));
    let out = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    let limit = Duration::from_secs(20);
    wait_for("the first frame", limit, || out().contains("data.json") && out().contains("Say hi."));

    let state = dir.path().join(".data.json.sift");
    keys.write_all(b"a").unwrap();
    wait_for("the accept to be journaled", limit, || read(&state.join("journal.jsonl")).contains("accepted"));
    keys.write_all(b"w").unwrap();
    wait_for("the save", limit, || read(&state.join("review.json")).contains("accepted"));
    keys.write_all(b"q").unwrap();
    let status = wait_exit(child, limit, || format!("sift did not quit; screen:\n{}", out()));
    assert!(status.success(), "exit status {status}; screen:\n{}", out());
    let review = read(&state.join("review.json"));
    assert!(review.contains("\"index\": 0") && review.contains("accepted"), "{review}");
    assert_eq!(read(&data), text, "nothing but the review changed");
    // The terminal was restored: the alternate screen was left.
    wait_for("the alternate screen to be left", Duration::from_secs(10), || out().contains("\u{1b}[?1049l"));
}

#[test]
fn sigterm_restores_the_terminal_and_keeps_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.json");
    std::fs::write(&data, "{\"instruction\": \"Reject me\", \"input\": \"\", \"output\": \"B\"}\n").unwrap();
    let (child, mut keys, screen) = spawn(dir.path(), Some(&data));
    let out = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    let limit = Duration::from_secs(20);
    wait_for("the first frame", limit, || out().contains("Reject me"));
    keys.write_all(b"x").unwrap();
    let state = dir.path().join(".data.json.sift");
    wait_for("the reject to be journaled", limit, || read(&state.join("journal.jsonl")).contains("rejected"));
    // SAFETY: plain kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = wait_exit(child, limit, || "sift ignored SIGTERM".into());
    assert!(status.success(), "{status}");
    wait_for("the screen to be restored", limit, || out().contains("\u{1b}[?1049l"));
    // The checkpoint on exit folded the decision into the review state.
    assert!(read(&state.join("review.json")).contains("rejected"));
}

#[test]
fn a_closed_terminal_ends_sift_without_spinning_and_keeps_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.json");
    std::fs::write(&data, "{\"instruction\": \"Accept me\", \"input\": \"\", \"output\": \"B\"}\n").unwrap();
    let hang_up = Arc::new(AtomicBool::new(false));
    let (child, mut keys, screen) = spawn_with(dir.path(), Some(&data), hang_up.clone());
    let out = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    let limit = Duration::from_secs(20);
    wait_for("the first frame", limit, || out().contains("Accept me"));
    keys.write_all(b"a").unwrap();
    let state = dir.path().join(".data.json.sift");
    wait_for("the accept to be journaled", limit, || read(&state.join("journal.jsonl")).contains("accepted"));
    hang_up.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(100));
    drop(keys);
    let pid = child.id();
    let status =
        wait_exit(child, Duration::from_secs(10), || format!("sift {pid} kept running after its terminal closed"));
    assert!(status.code().is_some(), "exited by itself, not killed by a signal: {status}");
    assert!(read(&state.join("review.json")).contains("accepted"), "checkpointed on the way out");
}

#[test]
fn no_file_opens_a_copy_of_the_bundled_sample() {
    let dir = tempfile::tempdir().unwrap();
    let (child, mut keys, screen) = spawn(dir.path(), None);
    let out = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    let limit = Duration::from_secs(20);
    wait_for("the sample", limit, || out().contains("alpaca_sample.json"));
    keys.write_all(b"q").unwrap();
    let status = wait_exit(child, limit, || "sift did not exit".into());
    assert!(status.success());
    let copy = dir.path().join("xdg/sift/alpaca_sample.json");
    assert_eq!(std::fs::read(&copy).unwrap(), sift::tui::sample::SAMPLE, "copied to the data dir");
}

/// Waits up to `limit` for `child` to exit; past it, kills it and panics with `why()`.
fn wait_exit(
    mut child: std::process::Child,
    limit: Duration,
    why: impl FnOnce() -> String,
) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("{}", why());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn print_config_shows_overrides_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[keys]\naccept = \"A\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sift")).arg("--print-config").env("SIFT_CONFIG", &cfg).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("accept = [\"A\"]") && text.contains("reject = [\"x\"]") && text.contains("[flags]"),
        "{text}"
    );
    std::fs::write(&cfg, "[keys]\nfly = \"z\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sift")).arg("--print-config").env("SIFT_CONFIG", &cfg).output().unwrap();
    assert!(!out.status.success(), "unknown commands are refused");
}
