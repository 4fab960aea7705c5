//! `launch.sh` as a user runs it: ACCEL reaches every trainer the way it expects, trainer arguments are
//! forwarded (spelled for each trainer), a missing trainer or DeepSpeed is named with its install
//! command, and a local base sets the token limit. The trainers are stubs that print their arguments.

mod common;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A folder of stub commands: each prints `NAME ARGS...` (and FORCE_TORCHRUN); `python` answers the
/// import checks with `$PY_EXIT` (0: importable).
fn stubs(dir: &Path, names: &[&str]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for n in names {
        let body = format!("#!/bin/sh\necho \"{n} $* FORCE_TORCHRUN=${{FORCE_TORCHRUN:-}}\"\n");
        std::fs::write(bin.join(n), body).unwrap();
    }
    std::fs::write(bin.join("python"), "#!/bin/sh\nexit ${PY_EXIT:-0}\n").unwrap();
    for e in std::fs::read_dir(&bin).unwrap().flatten() {
        std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn export(dir: &Path, to: &str) -> PathBuf {
    let data = dir.join("d.jsonl");
    std::fs::write(&data, "{\"instruction\": \"Say hi\", \"output\": \"Hi\"}\n").unwrap();
    let out = dir.join(format!("{to}-run"));
    let base = common::tiny_llama();
    let o = common::sift()
        .args(["export", data.to_str().unwrap(), "--select", "all", "--to", to, "--base", base.to_str().unwrap()])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn launch(run: &Path, bin: &Path, env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let mut c = Command::new(run.join("launch.sh"));
    c.args(args).env("PATH", format!("{}:/usr/bin:/bin", bin.display())).env("GPUS", "2");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = common::output_of_fresh_script(&mut c);
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn accel_and_trainer_arguments_reach_every_trainer() {
    if Command::new("bash").arg("--version").output().is_err() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = stubs(dir.path(), &["trl", "accelerate", "torchrun", "axolotl", "llamafactory-cli"]);
    let cases: [(&str, &str, &[&str]); 9] = [
        ("trl", "zero3", &["accelerate launch --config_file accelerate_zero3.yaml --num_processes 2", "--max_steps 2"]),
        ("trl", "fsdp2", &["--config_file accelerate_fsdp2.yaml"]),
        ("trl", "ddp", &["torchrun --nproc_per_node 2 -m trl.scripts.sft --config sft.yaml --max_steps 2"]),
        (
            "axolotl",
            "zero3",
            &["axolotl train config.yml --deepspeed deepspeed_zero3.json --max-steps 2 --launcher torchrun"],
        ),
        ("axolotl", "fsdp2", &["axolotl train config_fsdp2.yml --max-steps 2"]),
        ("axolotl", "ddp", &["axolotl train config.yml --max-steps 2 --launcher torchrun"]),
        (
            "llamafactory",
            "zero3",
            &["llamafactory-cli train train.yaml deepspeed=ds_z3_config.json max_steps=2 FORCE_TORCHRUN=1"],
        ),
        ("llamafactory", "fsdp2", &["llamafactory-cli train train_fsdp2.yaml max_steps=2 FORCE_TORCHRUN=1"]),
        ("llamafactory", "ddp", &["llamafactory-cli train train.yaml max_steps=2 FORCE_TORCHRUN=1"]),
    ];
    for (to, accel, want) in cases {
        let run = export(dir.path(), to);
        let (ok, out) = launch(&run, &bin, &[("ACCEL", accel)], &["multi-gpu", "--max_steps", "2"]);
        assert!(ok, "{to} {accel}: {out}");
        for w in want {
            assert!(out.contains(w), "{to} ACCEL={accel}: expected `{w}` in\n{out}");
        }
    }
    // Single GPU: the arguments still reach the trainer.
    let run = export(dir.path(), "llamafactory");
    let (ok, out) = launch(&run, &bin, &[], &["single", "--max_steps=3", "--bf16", "false"]);
    assert!(ok && out.contains("llamafactory-cli train train.yaml max_steps=3 bf16=false"), "{out}");
}

#[test]
fn what_is_missing_is_named_with_its_install_command() {
    if Command::new("bash").arg("--version").output().is_err() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = export(dir.path(), "axolotl");
    // No DeepSpeed for the trainer's Python: refused before anything starts.
    let bin = stubs(dir.path(), &["axolotl"]);
    let (ok, out) = launch(&run, &bin, &[("PY_EXIT", "1")], &["multi-gpu"]);
    assert!(
        !ok && out.contains("needs the Python package 'deepspeed'") && out.contains("-m pip install deepspeed"),
        "{out}"
    );
    assert!(!out.contains("axolotl train"), "{out}");
    // Plain DDP does not need it.
    let (ok, _) = launch(&run, &bin, &[("PY_EXIT", "1"), ("ACCEL", "ddp")], &["multi-gpu"]);
    assert!(ok);
    // No trainer at all.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (ok, out) = launch(&run, &empty, &[], &["check"]);
    assert!(!ok && out.contains("'axolotl' is not installed; install it with: pip install axolotl"), "{out}");
}

#[test]
fn a_local_base_sets_the_token_limit_and_no_remote_code_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = sift::export::configs::base_context(common::tiny_llama().to_str().unwrap()).unwrap();
    for (to, file, key) in [
        ("trl", "sft.yaml", "max_length"),
        ("axolotl", "config.yml", "sequence_len"),
        ("llamafactory", "train.yaml", "cutoff_len"),
    ] {
        let run = export(dir.path(), to);
        let text = std::fs::read_to_string(run.join(file)).unwrap();
        assert!(text.contains(&format!("{key}: {ctx}\n")), "{to}: {text}");
        assert!(!text.contains("trust_remote_code: true"), "{to}: {text}");
        // TRL's transformers deprecated `gradient_checkpointing` (axolotl's own key is fine).
        assert!(to != "trl" || !text.contains("\ngradient_checkpointing"), "{to}: {text}");
    }
}
