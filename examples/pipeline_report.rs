//! Print the pipeline report (JSON) for a directory: `cargo run --example pipeline_report -- DIR`.
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let report = keysweep::pipeline::analyze(std::path::Path::new(&dir));
    if std::env::args().any(|a| a == "--inventory") {
        println!("{}", keysweep::pipeline::inventory(&report).to_markdown());
    } else {
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    }
}
