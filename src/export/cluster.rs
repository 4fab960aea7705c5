//! Scoring on a cluster: a Slurm array job script and a Kubernetes indexed Job manifest that run
//! `sift score FILE --shard K/N` once per shard and then `sift score --merge` into the one scores file
//! (written by `sift score FILE --out OUT --cluster-jobs N`).
//!
//! Every user value goes into the script through [`shquote`] and into the manifest as a JSON-escaped
//! YAML string, so names with spaces or shell characters are taken literally.

use super::configs::yq;
use super::shell::shquote;
use std::path::Path;

/// What the job files run.
pub struct ScoreJob<'a> {
    /// The dataset, as the cluster's nodes see it.
    pub dataset: &'a str,
    /// The merged scores file.
    pub out: &'a str,
    /// Number of shards (array tasks, Job completions).
    pub shards: usize,
    /// Further `sift score` arguments every shard gets (model, template, select, config...).
    pub args: &'a [String],
    pub sift_version: &'a str,
}

/// The shard file of shard `k` (the `$K` of the scripts when `k` is `None`).
pub fn shard_file(out: &str, k: Option<usize>, n: usize) -> String {
    match k {
        Some(k) => format!("{out}.shard-{k}-of-{n}"),
        None => format!("{out}.shard-${{K}}-of-{n}"),
    }
}

/// The Slurm array job: `./sift-score.slurm submit` submits the shards and a merge job that waits
/// for all of them (`sbatch sift-score.slurm` alone runs just the shards).
pub fn slurm_script(j: &ScoreJob) -> String {
    let args: Vec<String> = j.args.iter().map(|a| shquote(a)).collect();
    let shards: Vec<String> = (0..j.shards).map(|k| shquote(&shard_file(j.out, Some(k), j.shards))).collect();
    format!(
        "#!/usr/bin/env bash\n\
         # Written by sift {ver}: score a dataset in {n} shards as a Slurm array job, then merge.\n\
         #   ./sift-score.slurm submit     submit the {n} shards and a merge job that runs after all succeed\n\
         #   sbatch sift-score.slurm       submit the shards only (merge later: ./sift-score.slurm merge)\n\
         # SIFT (default: sift on PATH) is the sift binary on the nodes; set --cpus-per-task to the cores a shard gets.\n\
         #SBATCH --job-name=sift-score\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task=4\n\
         #SBATCH --output=sift-score-%A_%a.log\n\
         set -euo pipefail\n\
         SIFT=\"${{SIFT:-sift}}\"\n\
         DATASET={data}\n\
         OUT={out}\n\
         ARGS=({args})\n\
         case \"${{1:-shard}}\" in\n\
         \x20 submit)\n\
         \x20   jid=\"$(sbatch --parsable \"$0\")\"\n\
         \x20   sbatch --dependency=\"afterok:${{jid%%;*}}\" --array=0 --job-name=sift-score-merge \"$0\" merge\n\
         \x20   ;;\n\
         \x20 merge)\n\
         \x20   exec \"$SIFT\" score --merge {shards} --out \"$OUT\" \"$DATASET\"\n\
         \x20   ;;\n\
         \x20 shard)\n\
         \x20   K=\"${{SLURM_ARRAY_TASK_ID:?run this with sbatch (or: ./sift-score.slurm submit)}}\"\n\
         \x20   export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"\n\
         \x20   exec \"$SIFT\" score \"$DATASET\" --shard \"$K/{n}\" --out \"$OUT.shard-$K-of-{n}\" --quiet \"${{ARGS[@]}}\"\n\
         \x20   ;;\n\
         \x20 *) echo \"usage: $0 [submit|merge]\" >&2; exit 2 ;;\n\
         esac\n",
        ver = j.sift_version,
        n = j.shards,
        last = j.shards.saturating_sub(1),
        data = shquote(j.dataset),
        out = shquote(j.out),
        args = args.join(" "),
        shards = shards.join(" "),
    )
}

/// The Kubernetes indexed Job: one pod per shard (`JOB_COMPLETION_INDEX` is the shard number), the
/// dataset and outputs on a shared volume mounted at `/data`. Set the image (one with `sift` on PATH)
/// and the volume claim; after `kubectl wait --for=condition=complete job/sift-score`, merge with
/// `sift score --merge OUT.shard-*-of-N --out OUT DATASET`.
pub fn k8s_job(j: &ScoreJob) -> String {
    let mut script = format!(
        "exec sift score \"$DATASET\" --shard \"$JOB_COMPLETION_INDEX/{n}\" --out \"$OUT.shard-$JOB_COMPLETION_INDEX-of-{n}\" --quiet",
        n = j.shards
    );
    for a in j.args {
        script.push(' ');
        script.push_str(&shquote(a));
    }
    let name = |p: &str| Path::new(p).file_name().map_or_else(|| p.to_string(), |f| f.to_string_lossy().into_owned());
    format!(
        "# Written by sift {ver}: score a dataset in {n} shards as a Kubernetes indexed Job.\n\
         # Set the image (with sift on PATH) and the claim of a volume holding the dataset; shard files are\n\
         # written beside it. Then: kubectl apply -f sift-score-job.yaml &&\n\
         #   kubectl wait --for=condition=complete --timeout=-1s job/sift-score &&\n\
         #   sift score --merge /data/OUT.shard-*-of-{n} --out /data/OUT /data/DATASET   (on a node with the volume)\n\
         apiVersion: batch/v1\n\
         kind: Job\n\
         metadata:\n\
         \x20 name: sift-score\n\
         spec:\n\
         \x20 completionMode: Indexed\n\
         \x20 completions: {n}\n\
         \x20 parallelism: {n}\n\
         \x20 backoffLimit: {retries}\n\
         \x20 template:\n\
         \x20   spec:\n\
         \x20     restartPolicy: Never\n\
         \x20     containers:\n\
         \x20       - name: sift\n\
         \x20         image: \"REPLACE_WITH_IMAGE\"\n\
         \x20         command: [\"sh\", \"-c\", {script}]\n\
         \x20         env:\n\
         \x20           - name: DATASET\n\
         \x20             value: {data}\n\
         \x20           - name: OUT\n\
         \x20             value: {out}\n\
         \x20           - name: SIFT_CACHE_DIR\n\
         \x20             value: \"/tmp/sift-cache\"\n\
         \x20         resources:\n\
         \x20           requests:\n\
         \x20             cpu: \"4\"\n\
         \x20         volumeMounts:\n\
         \x20           - name: data\n\
         \x20             mountPath: /data\n\
         \x20     volumes:\n\
         \x20       - name: data\n\
         \x20         persistentVolumeClaim:\n\
         \x20           claimName: \"REPLACE_WITH_CLAIM\"\n",
        ver = j.sift_version,
        n = j.shards,
        retries = j.shards * 2,
        script = yq(&script),
        data = yq(&format!("/data/{}", name(j.dataset))),
        out = yq(&format!("/data/{}", name(j.out))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(args: &[String]) -> ScoreJob<'_> {
        ScoreJob { dataset: "/d/my data's.json", out: "/d/scores.jsonl", shards: 3, args, sift_version: "0" }
    }

    #[test]
    fn slurm_script_runs_every_shard_and_merges_them_all() {
        let args = vec!["--model".to_string(), "/m/$(x)".to_string()];
        let s = slurm_script(&job(&args));
        assert!(s.contains("#SBATCH --array=0-2\n"));
        assert!(s.contains("DATASET='/d/my data'\\''s.json'\n"));
        assert!(s.contains("ARGS=('--model' '/m/$(x)')\n"));
        for k in 0..3 {
            assert!(s.contains(&shquote(&format!("/d/scores.jsonl.shard-{k}-of-3"))));
        }
        if std::process::Command::new("bash").arg("--version").output().is_ok() {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("s.sh");
            std::fs::write(&p, &s).unwrap();
            assert!(std::process::Command::new("bash").arg("-n").arg(&p).status().unwrap().success());
        }
    }

    #[test]
    fn k8s_job_is_indexed_with_one_completion_per_shard() {
        let s = k8s_job(&job(&[]));
        assert!(s.contains("completionMode: Indexed\n"));
        assert!(s.contains("completions: 3\n") && s.contains("parallelism: 3\n"));
        assert!(s.contains("--shard \\\"$JOB_COMPLETION_INDEX/3\\\""));
        assert!(s.contains("value: \"/data/my data's.json\""));
    }
}
