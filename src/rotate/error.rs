//! What can go wrong in planning and writing a rotation.

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("cannot edit {path}: {message}")]
    Patch { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the plan still has placeholders ({0}); pass the flags that fill them, or --allow-placeholders")]
    Placeholders(String),
    #[error("unknown target `{0}` (known: {known})", known = super::registry::ids_joined())]
    UnknownTarget(String),
}
