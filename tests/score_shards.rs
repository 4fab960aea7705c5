//! Scoring on a cluster: `sift score --shard K/N` slices, `sift score --merge` joins them into exactly
//! what one process writes, refuses shards of another job, and files the measurements in the cache.

mod common;
use std::path::{Path, PathBuf};

fn score(file: &Path, cache: &Path, args: &[&str]) -> std::process::Output {
    common::sift()
        .env("SIFT_CACHE_DIR", cache)
        .env_remove("SIFT_MODEL")
        .arg("score")
        .arg(file)
        .args(["--select", "0-299"])
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn three_shards_merge_into_the_single_process_scores_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::shared("alpaca/alpaca_data.json");
    let cache = dir.path().join("cache");
    let single = dir.path().join("single.jsonl");
    ok(&score(&data, &cache, &["--no-cache", "--out", single.to_str().unwrap()]));
    let shard = |k: usize, extra: &[&str]| -> PathBuf {
        let p = dir.path().join(format!("scores.jsonl.shard-{k}-of-3"));
        let spec = format!("{k}/3");
        ok(&score(&data, &cache, &[&["--no-cache", "--shard", &spec, "--out", p.to_str().unwrap()], extra].concat()));
        p
    };
    let shards: Vec<PathBuf> = (0..3).map(|k| shard(k, &[])).collect();
    // Shards are given in any order; the merge puts them back in dataset order.
    let merged = dir.path().join("merged.jsonl");
    let merge = |files: &[&PathBuf], with_data: bool| {
        let mut c = common::sift();
        c.env("SIFT_CACHE_DIR", &cache).args(["score", "--merge"]).args(files).arg("--out").arg(&merged);
        if with_data {
            c.arg(&data);
        }
        c.output().unwrap()
    };
    let stderr = ok(&merge(&[&shards[2], &shards[0], &shards[1]], true));
    assert!(stderr.contains("merged 3 shards: 300 records"), "{stderr}");
    assert_eq!(std::fs::read(&merged).unwrap(), std::fs::read(&single).unwrap());

    // The merge filed every measurement in the cache: scoring again here measures nothing.
    let again = dir.path().join("again.jsonl");
    let stderr = ok(&score(&data, &cache, &["--out", again.to_str().unwrap()]));
    assert!(stderr.contains("scored 0 records (299 from cache)"), "{stderr}"); // one record has no response
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&single).unwrap());

    // A missing shard, a repeated one, or one scored with other settings is refused, naming why.
    let err = |o: std::process::Output| {
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(err(merge(&[&shards[0], &shards[1]], false)).contains("missing 2/3"));
    assert!(err(merge(&[&shards[0], &shards[1], &shards[1]], false)).contains("given twice"));
    let other = shard(2, &["--compare-tokens", "8"]);
    assert!(err(merge(&[&shards[0], &shards[1], &other], false)).contains("different settings"));
    // A shard cut short (a killed job) is not merged.
    let text = std::fs::read_to_string(&shards[1]).unwrap();
    std::fs::write(&shards[1], &text[..text.len() - 10]).unwrap();
    assert!(err(merge(&[&shards[0], &shards[1], &shards[2]], false)).contains("cut short"));
}

#[test]
fn cluster_jobs_are_written_beside_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.json");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_datasets/alpaca_sample.json"), &data).unwrap();
    let out = dir.path().join("scores.jsonl");
    let o = common::sift()
        .args(["score", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--cluster-jobs", "4"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let slurm = std::fs::read_to_string(dir.path().join("sift-score.slurm")).unwrap();
    assert!(slurm.contains("#SBATCH --array=0-3") && slurm.contains("--merge"));
    let k8s = std::fs::read_to_string(dir.path().join("sift-score-job.yaml")).unwrap();
    assert!(k8s.contains("completionMode: Indexed") && k8s.contains("completions: 4"));
    assert!(!out.exists(), "writing the jobs scores nothing");
}

/// Shards of one job are written side by side, at once (the cluster jobs put them in one folder):
/// each goes through a temp file of its own, so a shard never takes away what another is writing.
/// Shards named as documented (`scores.jsonl.shard-K-of-N`) once shared `scores.jsonl.jsonl.tmp`,
/// and two shards finishing together lost one of them ("writing …: No such file or directory").
#[test]
fn a_shard_writes_through_a_temp_file_of_its_own() {
    let (dir, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let data = common::shared("alpaca/alpaca_data.json");
    let model = common::tiny_llama();
    // What the other shard of the job is writing at this moment, under the name both once shared.
    let other = dir.path().join("scores.jsonl.jsonl.tmp");
    std::fs::write(&other, "shard 1/2, half written").unwrap();
    let out = dir.path().join("scores.jsonl.shard-0-of-2");
    let args = ["--no-cache", "--model", model.to_str().unwrap(), "--shard", "0/2", "--out", out.to_str().unwrap()];
    ok(&score(&data, cache.path(), &args));
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "shard 1/2, half written");
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["scores.jsonl.jsonl.tmp", "scores.jsonl.shard-0-of-2"], "no temp file is left behind");
}
