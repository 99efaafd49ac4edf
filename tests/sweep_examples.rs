//! The sweep's scale-out examples on real engines: the Actions workflow under `act` (host mode,
//! 3 shard jobs and the merge job, states through act's artifact server: tests/sweep_act.sh),
//! and the Kubernetes Indexed Job and merge Job validated against the Kubernetes schema by
//! PyPI `kubernetes-validate` (scripts/kubernetes-validate.sh). A missing tool skips, unless
//! CI=true.
#![cfg(feature = "sweep")]

use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_serde::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tools_dir() -> PathBuf {
    std::env::var_os("KEYSWEEP_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/keysweep-tools")
        })
}

/// The tool from its environment variable or its place in the tools directory.
fn tool(var: &str, fallback: &str) -> Option<PathBuf> {
    let found = std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| Some(tools_dir().join(fallback)))
        .filter(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{var} missing (scripts/test.sh installs it)"
        );
        eprintln!("skip: {var} missing");
    }
    found
}

fn validate(validator: &Path, files: &[PathBuf]) -> (bool, String) {
    let out = Command::new(validator)
        .arg("--strict")
        .args(files)
        .output()
        .expect("kubernetes-validate runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("manifest");
    yaml_serde::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("yaml"))
        .collect()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn kubernetes_indexed_job_and_merge_job_validate() {
    let dir = root().join("examples/kubernetes");
    let files = [dir.join("sweep-job.yaml"), dir.join("sweep-merge-job.yaml")];
    let sweep = docs(&files[0]);
    let job = kind(&sweep, "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], spec["parallelism"]);
    let pod = &spec["template"]["spec"];
    let c = &pod["containers"][0];
    let env = c["env"].as_sequence().expect("env");
    let shards = env.iter().find(|e| e["name"] == "SHARDS").expect("SHARDS");
    assert_eq!(
        shards["value"].as_str().map(str::parse::<u64>),
        Some(Ok(spec["completions"].as_u64().expect("n")))
    );
    let token = env
        .iter()
        .find(|e| e["name"] == "KEYSWEEP_GIT_TOKEN")
        .expect("token env");
    assert!(
        token["valueFrom"]["secretKeyRef"]["name"].is_string(),
        "the token comes from a Secret"
    );
    let script = c["args"][0].as_str().expect("script");
    assert!(
        script.contains("--shard \"$JOB_COMPLETION_INDEX/$SHARDS\""),
        "{script}"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let cache = c["volumeMounts"]
        .as_sequence()
        .expect("mounts")
        .iter()
        .find(|m| m["name"] == "cache")
        .expect("cache");
    assert_eq!(cache["subPathExpr"], "shard-$(JOB_COMPLETION_INDEX)");
    let claim = &pod["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "cache")
        .expect("cache")["persistentVolumeClaim"]["claimName"];
    assert_eq!(
        kind(&sweep, "PersistentVolumeClaim")["metadata"]["name"],
        *claim
    );
    let merge = docs(&files[1]);
    let merge_pod = &kind(&merge, "Job")["spec"]["template"]["spec"];
    assert_eq!(
        merge_pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
        *claim
    );
    assert!(merge_pod["containers"][0]["args"][0]
        .as_str()
        .expect("script")
        .contains("sweep --quiet merge /cache/shard-*/sweep.db"));

    let Some(validator) = tool(
        "KEYSWEEP_KUBERNETES_VALIDATE",
        "kubernetes-validate-venv/bin/kubernetes-validate",
    ) else {
        return;
    };
    let (ok, text) = validate(&validator, &files);
    assert!(ok, "{text}");
    assert_eq!(text.matches("passed").count(), 4, "{text}");
    // the validator is not blind: a wrong type in the same Job is refused
    let t = tempfile::tempdir().expect("tempdir");
    let broken = t.path().join("broken.yaml");
    let text = std::fs::read_to_string(&files[0])
        .expect("manifest")
        .replace("completions: 3", "completions: three");
    std::fs::write(&broken, text).expect("write");
    let (ok, text) = validate(&validator, &[broken]);
    assert!(!ok, "a broken Job validated: {text}");
}

#[test]
fn actions_workflow_runs_under_act_with_three_shards_and_the_merge_job() {
    let Some(act) = tool("KEYSWEEP_ACT", "surfaces-venv/bin/act") else {
        return;
    };
    let Some(node_path) = tool(
        "KEYSWEEP_ARTIFACT_NODE_PATH",
        "artifact-client/node_modules",
    ) else {
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("keysweep");
    let path = format!(
        "{}:{}",
        act.parent().expect("act's dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(root().join("tests/sweep_act.sh"))
        .arg(&bin)
        .env("PATH", path)
        .env("KEYSWEEP_ARTIFACT_NODE_PATH", node_path)
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("merged report equals one sweep"), "{text}");
}
