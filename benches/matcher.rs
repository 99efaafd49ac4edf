//! Micro-benchmark of the detection engine alone (no I/O): built-in rules over realistic
//! source text with sparse secrets. The end-to-end comparison with peers is bench/run.sh.
// Test and benchmark code: unwrap is the failure message, printing is the output.
#![allow(clippy::unwrap_used, clippy::print_stdout, unreachable_pub)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keysweep::detect::Detector;
use keysweep::rules::RuleSet;
use std::sync::Arc;

/// About 4 MiB of code and config text; every secret in it is synthetic.
fn corpus() -> Vec<u8> {
    let chunk = r#"
import os
from app.config import settings

def connect(host: str, port: int = 5432) -> Connection:
    """Open a pooled connection; the password comes from the environment."""
    password = os.environ["DB_PASSWORD"]
    token = settings.api_token  # looked up at runtime
    return Pool(host=host, port=port, user="app", password=password, timeout=30)

apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.2
          env:
            - name: SECRET_KEY
              valueFrom: { secretKeyRef: { name: web, key: secret_key } }
const client = new Client({ region: "eu-west-1", credentials: fromEnv() });
"#;
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < 4 << 20 {
        out.extend_from_slice(chunk.as_bytes());
        if i % 50 == 0 {
            out.extend_from_slice(b"GITHUB_TOKEN=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\n");
        }
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let rules = Arc::new(RuleSet::builtin().expect("built-in rules"));
    let detector = Detector::new(rules);
    let data = corpus();
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("builtin-rules/4MiB-source", |b| {
        b.iter(|| detector.detect(&data))
    });
    g.finish();
    c.bench_function("startup/load-builtin-rules-and-build-detector", |b| {
        b.iter(|| Detector::new(Arc::new(RuleSet::builtin().unwrap())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
