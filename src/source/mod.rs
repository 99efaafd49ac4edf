//! Sources: where blobs come from (working tree, stdin; git history in `git`).

pub mod fs;
pub mod git;
pub mod walk;

use serde::Serialize;
use std::fmt;

/// Why an input was not scanned. Every skip is counted and reported, never silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// A NUL byte in the first 8 KiB.
    Binary,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// Permission denied or another read error.
    Unreadable,
    /// Listed by the walk, gone when read.
    Vanished,
    /// A symbolic link: never followed, so a scan cannot leave the tree or loop.
    Symlink,
    /// The directory walk itself failed here (unreadable directory, loop, ...).
    WalkError,
    /// A git submodule entry (gitlink): its objects live in another repository.
    Submodule,
    /// A Git LFS pointer: the content is not in the repository.
    LfsPointer,
    /// A git object that could not be read or decompressed.
    CorruptObject,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too-large",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Vanished => "vanished",
            SkipReason::Symlink => "symlink",
            SkipReason::WalkError => "walk-error",
            SkipReason::Submodule => "submodule",
            SkipReason::LfsPointer => "lfs-pointer",
            SkipReason::CorruptObject => "corrupt-object",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One input that was not scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skip {
    pub path: String,
    pub reason: SkipReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Binary content, as git and ripgrep decide it: a NUL byte near the start.
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}
