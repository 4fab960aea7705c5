//! The external-trainer backend: a fake trainer writes progress files; the watcher reports them;
//! cancel stops the whole process group.

use sift::export::Selection;
use sift::export::shell::shquote;
use sift::export::{ExternalHyper, ExternalTrainer};
use sift::session::{OpenOptions, Session, Status};
use sift::train::external::{ExternalConfig, ExternalError, ExternalEvent, start};
use std::path::Path;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

fn session(dir: &Path) -> Session {
    let path = dir.join("d.jsonl");
    std::fs::write(
        &path,
        "{\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\"}\n{\"instruction\": \"c\", \"input\": \"\", \"output\": \"d\"}\n",
    )
    .unwrap();
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_status(&[0], Status::Accepted).unwrap();
    s
}

fn config(dir: &Path, backend: ExternalTrainer, script: &str) -> ExternalConfig {
    let fake = dir.join("fake trainer.sh");
    std::fs::write(&fake, script).unwrap();
    ExternalConfig {
        backend,
        command: Some(format!("bash {}", shquote(&fake.to_string_lossy()))),
        submit: None,
        base_model: "org/base".into(),
        out_dir: dir.join("runs"),
        template: None,
        hyper: ExternalHyper::default(),
        poll_ms: 20,
    }
}

fn collect(rx: &Receiver<ExternalEvent>, timeout: Duration) -> Vec<ExternalEvent> {
    let mut v = Vec::new();
    let deadline = std::time::Instant::now() + timeout;
    while let Ok(e) = rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
        let end = matches!(e, ExternalEvent::Done | ExternalEvent::Failed(_) | ExternalEvent::Cancelled);
        v.push(e);
        if end {
            break;
        }
    }
    v
}

/// Writes trainer_state.json step by step (atomically, like HF), with an eval entry at step 2.
const HF_FAKE: &str = r#"set -eu
test -f sft.yaml && test -f data.jsonl
mkdir -p output/checkpoint-2
hist=""
for i in 1 2 3; do
  entry="{\"loss\": $((4 - i)).5, \"grad_norm\": 0.9, \"learning_rate\": 0.0000$i, \"epoch\": 0.$i, \"step\": $i}"
  hist="${hist:+$hist, }$entry"
  if [ "$i" = 2 ]; then hist="$hist, {\"eval_loss\": 2.25, \"step\": 2}"; fi
  printf '{"global_step": %d, "max_steps": 3, "log_history": [%s]}' "$i" "$hist" > output/ts.tmp
  mv output/ts.tmp output/trainer_state.json
  echo "step $i"
  sleep 0.2
done
printf '{"max_steps": 3, "log_history": [%s, {"train_loss": 2.0, "train_runtime": 1.0, "step": 3}]}' "$hist" > output/checkpoint-2/trainer_state.json
"#;

#[test]
fn watcher_reports_hf_trainer_state_steps_then_done() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let (tx, rx) = channel();
    let cfg = config(dir.path(), ExternalTrainer::Trl, HF_FAKE);
    let run = start(&s, &Selection::parse("accepted").unwrap(), &cfg, tx).unwrap();
    assert_eq!(run.export.written, 1);
    assert!(run.run_dir.starts_with(dir.path().join("runs")));
    let events = collect(&rx, Duration::from_secs(20));
    assert!(matches!(&events[0], ExternalEvent::Started { pid: Some(_), submitted: false, .. }), "{events:?}");
    assert_eq!(events.last(), Some(&ExternalEvent::Done), "{events:?}");
    let progress: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ExternalEvent::Progress(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let steps: Vec<(u64, bool)> = progress.iter().map(|p| (p.step, p.eval_loss.is_some())).collect();
    assert_eq!(steps, [(1, false), (2, false), (2, true), (3, false)], "{progress:?}");
    assert!(progress.iter().all(|p| p.total == Some(3)));
    assert_eq!(progress[0].loss, Some(3.5));
    assert_eq!(progress[0].lr, Some(0.00001));
    assert_eq!(progress[2].eval_loss, Some(2.25));
    assert_eq!(progress[3].epoch, Some(0.3));
    let log = std::fs::read_to_string(&run.log).unwrap();
    assert!(log.contains("step 3"), "{log}");
    run.join();
}

#[test]
fn watcher_reads_llamafactory_trainer_log_and_reports_failure() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let (tx, rx) = channel();
    let script = r#"set -eu
test -f train.yaml && test -f dataset_info.json
mkdir -p output
for i in 1 2; do
  printf '{"current_steps": %d, "total_steps": 4, "loss": 1.%d, "lr": 0.0001, "epoch": 0.%d, "percentage": %d, "elapsed_time": "0:00:01", "remaining_time": "0:00:02"}\n' $i $i $i $((i * 25)) >> output/trainer_log.jsonl
  sleep 0.1
done
echo "CUDA out of memory" >&2
exit 3
"#;
    let cfg = config(dir.path(), ExternalTrainer::LlamaFactory, script);
    let _run = start(&s, &Selection::parse("all").unwrap(), &cfg, tx).unwrap();
    let events = collect(&rx, Duration::from_secs(20));
    let steps: Vec<(u64, Option<u64>, Option<f64>)> = events
        .iter()
        .filter_map(|e| match e {
            ExternalEvent::Progress(p) => Some((p.step, p.total, p.loss)),
            _ => None,
        })
        .collect();
    assert_eq!(steps, [(1, Some(4), Some(1.1)), (2, Some(4), Some(1.2))]);
    match events.last() {
        Some(ExternalEvent::Failed(msg)) => {
            assert!(msg.contains("exit status: 3") && msg.contains("CUDA out of memory"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by its parent) counts as gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

#[test]
fn cancel_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let (tx, rx) = channel();
    // The trainer starts a grandchild (like torchrun's workers) and ignores nothing.
    let script = "sleep 60 &\necho $! > grandchild.pid\nwait\n";
    let cfg = config(dir.path(), ExternalTrainer::Axolotl, script);
    let run = start(&s, &Selection::parse("all").unwrap(), &cfg, tx).unwrap();
    let pid_file = run.run_dir.join("grandchild.pid");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !pid_file.is_file() || std::fs::read_to_string(&pid_file).unwrap().trim().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the fake trainer did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let grandchild: u32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert!(run.is_running() && alive(grandchild));
    run.cancel_with(Duration::from_secs(2)).unwrap();
    let events = collect(&rx, Duration::from_secs(10));
    assert_eq!(events.last(), Some(&ExternalEvent::Cancelled), "{events:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while alive(grandchild) {
        assert!(std::time::Instant::now() < deadline, "the grandchild {grandchild} survived cancel");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!run.is_running());
    assert!(matches!(run.cancel(), Err(ExternalError::Finished)));
}

#[test]
fn submitted_runs_cannot_be_cancelled_and_end_at_the_last_step() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let (tx, rx) = channel();
    // A fake `sbatch`: records the command it was given, then the "job" writes progress later.
    let mut cfg = config(dir.path(), ExternalTrainer::Trl, "");
    let submit = dir.path().join("fake sbatch.sh");
    std::fs::write(
        &submit,
        "printf '%s' \"$1\" > submitted.txt\n( sleep 0.3; mkdir -p output; printf '{\"max_steps\": 1, \"log_history\": [{\"loss\": 0.5, \"step\": 1}]}' > output/trainer_state.json ) >/dev/null 2>&1 &\n",
    )
    .unwrap();
    cfg.submit = Some(format!("bash {}", shquote(&submit.to_string_lossy())));
    cfg.command = Some("srun ./launch.sh multi-node".into());
    let run = start(&s, &Selection::parse("all").unwrap(), &cfg, tx).unwrap();
    assert!(run.submitted && run.pid().is_none());
    assert!(matches!(run.cancel(), Err(ExternalError::Remote)));
    let events = collect(&rx, Duration::from_secs(20));
    assert!(matches!(&events[0], ExternalEvent::Started { submitted: true, .. }));
    assert_eq!(events.last(), Some(&ExternalEvent::Done), "{events:?}");
    assert_eq!(std::fs::read_to_string(run.run_dir.join("submitted.txt")).unwrap(), "srun ./launch.sh multi-node");
}

#[test]
fn reader_parses_a_real_trl_checkpoint_state() {
    // Written by TRL 1.16 / transformers 5.23 (a TRL smoke run, now tools/smoke_trainers.sh): checkpoint-2/trainer_state.json.
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("checkpoint-2");
    std::fs::create_dir_all(&ck).unwrap();
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trainer_state_trl-1.16.json");
    std::fs::copy(real, ck.join("trainer_state.json")).unwrap();
    let mut r = sift::train::run_folder::ProgressReader::new(dir.path());
    let p = r.poll();
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!((p[0].step, p[0].total, p[0].lr), (1, Some(2), Some(2e-5)));
    assert_eq!((p[1].step, p[1].epoch), (2, Some(2.0)));
    assert!((p[1].loss.unwrap() - 3.0778).abs() < 1e-3);
    assert!(p[1].grad_norm.is_some() && p[1].eval_loss.is_none());
    assert!(r.poll().is_empty());
}

#[test]
fn reader_follows_hf_console_lines_between_checkpoints() {
    // Console output of TRL 1.16 / transformers 5.23 (a TRL smoke run, now tools/smoke_trainers.sh), progress bars included.
    let dir = tempfile::tempdir().unwrap();
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/train_log_trl-1.16.txt");
    let log = dir.path().join("train.log");
    std::fs::copy(real, &log).unwrap();
    let mut r = sift::train::run_folder::ProgressReader::new(&dir.path().join("output")).with_log(&log);
    let p = r.poll();
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!((p[0].step, p[0].total, p[0].loss, p[0].lr), (1, Some(2), Some(3.106), Some(2e-5)));
    assert_eq!((p[1].step, p[1].epoch), (2, Some(2.0)));
    assert!(r.poll().is_empty());
    // Appended lines are picked up; an eval line reports the current step.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    use std::io::Write;
    writeln!(f, " 30%|###  | 3/10 [00:01<00:02]{{'loss': '2.5', 'learning_rate': '1e-05', 'epoch': '3'}}").unwrap();
    writeln!(f, "{{'eval_loss': '2.75', 'eval_runtime': '0.1', 'epoch': '3'}}").unwrap();
    let p = r.poll();
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!((p[0].step, p[0].total, p[0].loss), (3, Some(10), Some(2.5)));
    assert_eq!((p[1].step, p[1].eval_loss), (3, Some(2.75)));
}
