//! The package a registry target publishes, read from the repository's manifest.

use std::path::Path;

/// `name` of `package.json`.
pub fn npm_package(root: &Path) -> Option<String> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("package.json")).ok()?).ok()?;
    v.get("name")?.as_str().map(str::to_string)
}

/// `[project] name` of `pyproject.toml`.
pub fn python_package(root: &Path) -> Option<String> {
    toml_name(root, "pyproject.toml", "project")
}

/// `[package] name` of `Cargo.toml`.
pub fn cargo_package(root: &Path) -> Option<String> {
    toml_name(root, "Cargo.toml", "package")
}

fn toml_name(root: &Path, file: &str, table: &str) -> Option<String> {
    let v: toml::Value = std::fs::read_to_string(root.join(file))
        .ok()?
        .parse()
        .ok()?;
    v.get(table)?.get("name")?.as_str().map(str::to_string)
}
