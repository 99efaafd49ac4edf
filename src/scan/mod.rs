//! The scan: blobs from a source through detection into findings, with suppression. The scan
//! drives the sources (`source::fs`, `source::git`); they never call back into it.

mod git;
mod pipeline_changes;

use crate::ci_findings::{link_literals, CiResult};
use crate::decode;
use crate::detect::Detector;
use crate::finding::{redact, Finding, FindingSet, Location};
use crate::source::fs::{check_roots, walk_each, FileEntry, WalkError, WalkOptions};
use crate::source::{looks_binary, Skip, SkipReason};
use crate::suppress::{self, Baseline};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Default)]
pub struct ScanSettings {
    /// Put clear secrets in snippets (the user asked with `--show-secrets`).
    pub show_secrets: bool,
    pub walk: WalkOptions,
    /// A secret matching one of these is accepted (config `allow_secrets`).
    pub allow_secrets: Vec<regex::Regex>,
    /// Show a progress bar on stderr (only if it is a terminal).
    pub progress: bool,
    /// Report only findings at or above this confidence (`--min-confidence`).
    pub min_confidence: Option<crate::rules::Confidence>,
}

/// How many of each kind of suppression applied.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Suppressed {
    pub inline: u64,
    pub allowlist: u64,
    pub baseline: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct ScanStats {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub elapsed_ms: u64,
    pub pipeline_files_analyzed: u64,
    pub suppressed: Suppressed,
    pub skipped_counts: BTreeMap<String, u64>,
    pub skipped: Vec<Skip>,
    /// What a git scan saw (mode, objects, shallow clone, range).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<crate::source::git::GitInfo>,
}

impl ScanStats {
    /// Adds the inline and allowlist counts of one blob or chunk.
    pub fn add_suppressed(&mut self, s: &Suppressed) {
        self.suppressed.inline += s.inline;
        self.suppressed.allowlist += s.allowlist;
    }

    pub fn record_skips(&mut self, skips: Vec<Skip>) {
        for s in &skips {
            *self.skipped_counts.entry(s.reason.to_string()).or_default() += 1;
        }
        self.skipped.extend(skips);
        self.skipped.sort();
    }
}

#[derive(Debug, Default)]
pub struct ScanResult {
    pub findings: Vec<Finding>,
    /// Long-lived credentials the CI configuration consumes (working-tree scans).
    pub ci: CiResult,
    pub stats: ScanStats,
}

impl ScanResult {
    /// Drops findings the baseline accepts, counting them.
    pub fn apply_baseline(&mut self, baseline: &Baseline) {
        let before = self.findings.len() + self.ci.findings.len();
        self.findings.retain(|f| !baseline.contains(&f.fingerprint));
        self.ci
            .findings
            .retain(|f| !baseline.contains(&f.fingerprint));
        let after = self.findings.len() + self.ci.findings.len();
        self.stats.suppressed.baseline += (before - after) as u64;
    }

    /// Adds the pipeline analysis of the directory roots.
    /// Attaches the pipeline analysis of the scanned roots (`ci_findings::analyze_roots`).
    pub fn add_pipelines(&mut self, (mut ci, allowed): (CiResult, u64)) {
        link_literals(&mut self.findings, &mut ci);
        self.stats.suppressed.inline += allowed;
        self.stats.pipeline_files_analyzed = ci.files_analyzed as u64;
        self.ci = ci;
    }

    /// Drops locations under excluded paths (git modes, where blobs are found before their
    /// paths), and findings left with none; those count as accepted by the config.
    pub fn apply_path_excludes(&mut self, exclude: &globset::GlobSet) {
        if exclude.is_empty() {
            return;
        }
        let before = self.findings.len();
        for f in &mut self.findings {
            f.locations.retain(|l| !exclude.is_match(&l.path));
        }
        self.findings.retain(|f| !f.locations.is_empty());
        self.stats.suppressed.allowlist += (before - self.findings.len()) as u64;
    }

    /// Whether anything new was found (exit status 1).
    pub fn has_findings(&self) -> bool {
        !self.findings.is_empty() || self.ci.blocking()
    }

    /// Adds the CI credential uses that a change brings (`mode` is a range or the staged
    /// index of the repository at `repo`), counted as `policy` says.
    pub fn add_pipeline_changes(
        &mut self,
        repo: &std::path::Path,
        mode: &crate::source::git::GitMode,
        exclude: &globset::GlobSet,
        policy: crate::ci_findings::PipelineUses,
    ) -> Result<(), crate::source::git::GitError> {
        if policy == crate::ci_findings::PipelineUses::Off {
            return Ok(());
        }
        if let Some((mut ci, allowed)) = pipeline_changes::new_uses(repo, mode, exclude)? {
            ci.policy = Some(policy);
            link_literals(&mut self.findings, &mut ci);
            self.stats.suppressed.inline += allowed;
            self.stats.pipeline_files_analyzed = ci.files_analyzed as u64;
            self.ci = ci;
        }
        Ok(())
    }
}

/// Per-blob results before grouping: (rule index, secret bytes, location).
pub type BlobHits = Vec<(usize, Vec<u8>, Location)>;

/// A detection placed in the original blob: `span` is where the secret (or its encoded form)
/// is, `secret` the value itself (decoded when `decoded` says how).
struct Placed {
    rule: usize,
    whole: Range<usize>,
    span: Range<usize>,
    secret: Vec<u8>,
    decoded: Option<String>,
}

pub struct Scanner {
    detector: Detector,
    settings: ScanSettings,
}

impl Scanner {
    pub fn new(detector: Detector, settings: ScanSettings) -> Scanner {
        Scanner { detector, settings }
    }

    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    pub fn settings(&self) -> &ScanSettings {
        &self.settings
    }

    /// Scans one blob's bytes shown as `path`. Binary content is refused.
    pub fn scan_blob(
        &self,
        path: &str,
        bytes: &[u8],
        suppressed: &mut Suppressed,
    ) -> Result<BlobHits, SkipReason> {
        if looks_binary(bytes) {
            return Err(SkipReason::Binary);
        }
        let detections = self.detector.detect(bytes);
        let mut placed: Vec<Placed> = detections
            .iter()
            .map(|d| Placed {
                rule: d.rule,
                whole: d.whole.clone(),
                span: d.secret.clone(),
                secret: bytes[d.secret.clone()].to_vec(),
                decoded: None,
            })
            .collect();
        // Lockfiles, baselines, locale and minified bundles are hashes, pins and vendor code:
        // their text is scanned, their encodings are not worth decoding.
        if crate::detect::files::generic_quiet_reason(path).is_none() {
            self.decoded_detections(bytes, &mut placed);
        }
        if placed.is_empty() {
            return Ok(Vec::new());
        }
        placed.sort_by(|a, b| {
            (a.span.start, a.span.end, a.rule).cmp(&(b.span.start, b.span.end, b.rule))
        });
        Ok(self.locate(path, bytes, &placed, suppressed))
    }

    /// Detections in the decoded views of a blob (base64, percent, escapes, joined literals)
    /// that the plain scan did not make, placed at their encoded span. Where a decoded
    /// value and a plain match overlap, a specific plain match wins; a decoded value wins
    /// over a generic match of its encoded text (`password: <base64>`).
    fn decoded_detections(&self, bytes: &[u8], plain: &mut Vec<Placed>) {
        let rules = self.detector.rules();
        let generic = |rule: usize| rules.get(rule).spec.generic;
        let overlaps = |a: &Range<usize>, b: &Range<usize>| a.start < b.end && b.start < a.end;
        let mut out: Vec<Placed> = Vec::new();
        for view in decode::views(bytes) {
            for d in self.detector.detect(&view.text) {
                if !view.is_decoded(&d.secret) {
                    continue;
                }
                let span = view.origin(&d.secret);
                let whole = view.origin(&d.whole);
                out.push(Placed {
                    rule: d.rule,
                    whole: whole.start.min(span.start)..whole.end.max(span.end),
                    span,
                    secret: view.text[d.secret.clone()].to_vec(),
                    decoded: Some(view.how.clone()),
                });
            }
        }
        if out.is_empty() {
            return;
        }
        // Among overlapping decoded matches, one: specific before generic, then the deepest
        // decoding (a PEM in joined `\n` literals), then the longest value.
        let rank = |p: &Placed| {
            (
                !generic(p.rule),
                p.decoded.as_ref().map_or(0, |h| h.matches('+').count()),
                p.secret.len(),
                std::cmp::Reverse(p.rule),
            )
        };
        out.sort_by_key(|p| std::cmp::Reverse(rank(p)));
        let mut kept: Vec<Placed> = Vec::new();
        for p in out {
            if kept.iter().any(|k| overlaps(&k.span, &p.span)) {
                continue;
            }
            let blocked = plain.iter().any(|q| {
                overlaps(&q.span, &p.span)
                    && !(generic(q.rule)
                        && p.span.start <= q.span.start
                        && q.span.end <= p.span.end)
            });
            if !blocked {
                kept.push(p);
            }
        }
        plain.retain(|q| !(generic(q.rule) && kept.iter().any(|k| overlaps(&k.span, &q.span))));
        plain.extend(kept);
    }

    /// Turns detections into located hits, applying inline allows and the allowlist.
    fn locate(
        &self,
        path: &str,
        bytes: &[u8],
        detections: &[Placed],
        suppressed: &mut Suppressed,
    ) -> BlobHits {
        let mut lines = LineCursor::new(bytes);
        let has_markers = suppress::any_marker(bytes);
        let secrets: Vec<Range<usize>> = detections.iter().map(|d| d.span.clone()).collect();
        let mut out = Vec::new();
        for d in detections {
            let secret = &d.secret;
            let first_line = line_range(bytes, d.whole.start);
            let last_line = line_range(bytes, d.whole.end.saturating_sub(1).max(d.whole.start));
            let secret_line = line_range(bytes, d.span.start);
            let lines_to_check = [&first_line, &last_line, &secret_line];
            let rule = self.detector.rules().get(d.rule).id();
            if has_markers
                && lines_to_check
                    .iter()
                    .any(|l| suppress::allows(&bytes[(*l).clone()], rule))
            {
                suppressed.inline += 1;
                continue;
            }
            let text = String::from_utf8_lossy(secret);
            if self
                .settings
                .allow_secrets
                .iter()
                .any(|re| re.is_match(&text))
            {
                suppressed.allowlist += 1;
                continue;
            }
            let (line, column) = lines.position(d.span.start);
            let (end_line, end_column) = lines.position_after(d.span.start, d.span.end);
            out.push((
                d.rule,
                secret.clone(),
                Location {
                    path: path.to_string(),
                    line,
                    column,
                    end_line,
                    end_column,
                    snippet: snippet(
                        bytes,
                        secret_line,
                        &d.span,
                        &secrets,
                        self.settings.show_secrets,
                    ),
                    decoded: d.decoded.clone(),
                    context: None,
                    blob: None,
                    provenance: None,
                },
            ));
        }
        out
    }

    /// Groups per-blob hits into findings.
    pub fn group(&self, hits: impl IntoIterator<Item = BlobHits>) -> Vec<Finding> {
        let mut set = FindingSet::default();
        for blob in hits {
            for (rule, secret, loc) in blob {
                let rule = self.detector.rules().get(rule);
                // Baselines, lockfiles, locale bundles: a name-keyed match there is a hash,
                // a pin or a translated label (a URL with a password in a lockfile is not).
                if rule.spec.generic
                    && rule.id() != "url-embedded-password"
                    && crate::detect::files::generic_quiet_reason(&loc.path).is_some()
                {
                    continue;
                }
                set.add(rule, &secret, loc);
            }
        }
        if let Some(min) = self.settings.min_confidence {
            set.retain_confidence(min);
        }
        set.into_sorted()
    }

    /// Scans the working tree under `roots`.
    pub fn scan_paths(&self, roots: &[PathBuf]) -> Result<ScanResult, WalkError> {
        self.scan_paths_with(roots, &|_| false, |_| ())
            .map(|(result, ())| result)
    }

    /// [`Scanner::scan_paths`], also handing the walked files that `keep` selects to
    /// `after_walk`, which runs on the walk's thread as soon as the listing ends, beside the
    /// scanners still at work: work that needs the file list (the pipeline analysis) costs no
    /// second walk.
    pub fn scan_paths_with<T: Send>(
        &self,
        roots: &[PathBuf],
        keep: &(dyn Fn(&Path) -> bool + Sync),
        after_walk: impl FnOnce(Vec<PathBuf>) -> T + Send,
    ) -> Result<(ScanResult, T), WalkError> {
        let started = Instant::now();
        check_roots(roots)?;
        let progress = self.progress_bar(0, Progress::Bytes);
        // The walk lists on its own thread while the scanners work: on a large tree the
        // listing alone takes a tenth of the scan, and need not come first.
        let (tx, rx) = std::sync::mpsc::sync_channel::<FileEntry>(4096);
        let (mut result, (skips, after)) = std::thread::scope(|s| {
            let walk = &self.settings.walk;
            let bar = progress.clone();
            let lister = s.spawn(move || {
                let mut kept = Vec::new();
                let skips = walk_each(roots, walk, |f| {
                    if let Some(p) = &bar {
                        p.inc_length(f.size);
                    }
                    if keep(&f.path) {
                        kept.push(f.path.clone());
                    }
                    // The scanners stop receiving only if they panicked; that panic is reported.
                    let _ = tx.send(f);
                });
                drop(tx);
                (skips, after_walk(kept))
            });
            let result = self.scan_entries(rx.into_iter().par_bridge(), progress);
            (
                result,
                lister.join().expect("the walk thread does not panic"),
            )
        });
        result.stats.record_skips(skips);
        result.stats.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok((result, after))
    }

    /// Scans listed files in parallel. A file that cannot be read is a counted skip.
    pub fn scan_files(&self, files: &[FileEntry]) -> ScanResult {
        let progress = self.progress_bar(files.iter().map(|f| f.size).sum(), Progress::Bytes);
        self.scan_entries(files.par_iter().cloned(), progress)
    }

    fn scan_entries(
        &self,
        files: impl ParallelIterator<Item = FileEntry>,
        progress: Option<indicatif::ProgressBar>,
    ) -> ScanResult {
        let started = Instant::now();
        let mut stats = ScanStats::default();
        let extra_skips = Mutex::new(Vec::new());
        let suppressed = Mutex::new(Suppressed::default());
        let results: Vec<(u64, BlobHits)> = files
            .filter_map(|f| {
                let r = self.scan_file(&f, &suppressed);
                if let Some(p) = &progress {
                    p.inc(f.size);
                }
                match r {
                    Ok(hits) => Some(hits),
                    Err(skip) => {
                        extra_skips.lock().expect("skip list").push(skip);
                        None
                    }
                }
            })
            .collect();
        if let Some(p) = progress {
            p.finish_and_clear();
        }
        stats.record_skips(extra_skips.into_inner().expect("skip list"));
        stats.suppressed = suppressed.into_inner().expect("counters");
        stats.files_scanned = results.len() as u64;
        stats.bytes_scanned = results.iter().map(|(n, _)| n).sum();
        // Grouping orders findings and their locations: the output does not depend on the
        // order the files were scanned in.
        let findings = self.group(results.into_iter().map(|(_, h)| h));
        stats.elapsed_ms = started.elapsed().as_millis() as u64;
        ScanResult {
            findings,
            stats,
            ..Default::default()
        }
    }

    fn scan_file(
        &self,
        f: &FileEntry,
        suppressed: &Mutex<Suppressed>,
    ) -> Result<(u64, BlobHits), Skip> {
        let skip = |reason, detail: String| Skip {
            path: f.display.clone(),
            reason,
            detail: Some(detail),
        };
        READ_BUFFER.with_borrow_mut(|bytes| {
            read_into(&f.path, f.size, bytes).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => skip(SkipReason::Vanished, e.to_string()),
                _ => skip(SkipReason::Unreadable, e.to_string()),
            })?;
            let r = self.scan_bytes(f, bytes, suppressed, skip);
            if bytes.capacity() > KEPT_BUFFER {
                *bytes = Vec::new();
            }
            r
        })
    }

    fn scan_bytes(
        &self,
        f: &FileEntry,
        bytes: &[u8],
        suppressed: &Mutex<Suppressed>,
        skip: impl Fn(SkipReason, String) -> Skip,
    ) -> Result<(u64, BlobHits), Skip> {
        let max = self.settings.walk.max_file_size;
        if max > 0 && bytes.len() as u64 > max {
            return Err(skip(
                SkipReason::TooLarge,
                format!("{} bytes > limit {max}", bytes.len()),
            ));
        }
        let mut local = Suppressed::default();
        let hits = self
            .scan_blob(&f.display, bytes, &mut local)
            .map_err(|reason| skip(reason, "NUL byte in the first 8 KiB".into()))?;
        if local.inline + local.allowlist > 0 {
            let mut s = suppressed.lock().expect("counters");
            s.inline += local.inline;
            s.allowlist += local.allowlist;
        }
        Ok((bytes.len() as u64, hits))
    }

    /// Scans bytes read from standard input, shown as `<stdin>`.
    pub fn scan_reader(&self, mut reader: impl std::io::Read) -> std::io::Result<ScanResult> {
        let started = Instant::now();
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        let mut stats = ScanStats::default();
        let mut suppressed = Suppressed::default();
        let findings = match self.scan_blob("<stdin>", &bytes, &mut suppressed) {
            Ok(hits) => {
                stats.files_scanned = 1;
                stats.bytes_scanned = bytes.len() as u64;
                self.group([hits])
            }
            Err(reason) => {
                stats.record_skips(vec![Skip {
                    path: "<stdin>".into(),
                    reason,
                    detail: None,
                }]);
                Vec::new()
            }
        };
        stats.suppressed = suppressed;
        stats.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(ScanResult {
            findings,
            stats,
            ..Default::default()
        })
    }

    /// A progress bar on stderr when the user asked for one and stderr is a terminal.
    fn progress_bar(&self, total: u64, kind: Progress) -> Option<indicatif::ProgressBar> {
        if !self.settings.progress || !std::io::stderr().is_terminal() {
            return None;
        }
        let template = match kind {
            Progress::Bytes => {
                "{spinner} scanning [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
            }
            Progress::GitObjects => {
                "{spinner} git history [{bar:30}] {pos}/{len} objects {msg} eta {eta}"
            }
        };
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .expect("static template")
                .progress_chars("=> "),
        );
        Some(bar)
    }
}

// Each scanner thread reads every file into one buffer it keeps: a fresh allocation per file
// costs page faults and zeroing, which showed as a fifth of a working-tree scan.
thread_local! {
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffer grown past this by one large file is given back rather than kept.
const KEPT_BUFFER: usize = 16 << 20;

/// Reads the file at `path` into `buf` (cleared first); `size` is the listed size, a hint.
fn read_into(path: &std::path::Path, size: u64, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    buf.clear();
    let mut file = std::fs::File::open(path)?;
    buf.reserve(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.read_to_end(buf)?;
    Ok(())
}

/// What a progress bar counts.
#[derive(Debug, Clone, Copy)]
enum Progress {
    /// Bytes of working-tree files.
    Bytes,
    /// Objects of a git object database.
    GitObjects,
}

/// Byte range of the line holding `pos`, without its line break.
fn line_range(bytes: &[u8], pos: usize) -> Range<usize> {
    let pos = pos.min(bytes.len());
    let start = memchr::memrchr(b'\n', &bytes[..pos]).map_or(0, |p| p + 1);
    let mut end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |p| pos + p);
    if end > start && bytes[end - 1] == b'\r' {
        end -= 1;
    }
    start..end
}

/// Counts lines and columns forward through a blob; positions must be asked in increasing
/// order. Columns are counted incrementally too: many secrets on one long line (a minified
/// bundle) must not each recount the line from its start.
struct LineCursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    /// Characters in `line_start..pos`.
    column: usize,
}

impl<'a> LineCursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCursor {
            bytes,
            pos: 0,
            line: 1,
            line_start: 0,
            column: 0,
        }
    }

    /// 1-based line and character column of `pos`.
    fn position(&mut self, pos: usize) -> (usize, usize) {
        if pos < self.pos {
            *self = LineCursor::new(self.bytes);
        }
        let ahead = &self.bytes[self.pos..pos];
        match memchr::memrchr(b'\n', ahead) {
            Some(last) => {
                self.line += 1 + memchr::memchr_iter(b'\n', &ahead[..last]).count();
                self.line_start = self.pos + last + 1;
                self.column = char_count(&self.bytes[self.line_start..pos]);
            }
            None => self.column += char_count(ahead),
        }
        self.pos = pos;
        (self.line, self.column + 1)
    }

    /// Line and column just past `start..end` (an exclusive end column, as SARIF counts it).
    /// `position(start)` must have been asked last.
    fn position_after(&self, start: usize, end: usize) -> (usize, usize) {
        let inner = &self.bytes[start..end];
        match memchr::memrchr(b'\n', inner) {
            None => (self.line, self.column + char_count(inner) + 1),
            Some(last) => (
                self.line + 1 + memchr::memchr_iter(b'\n', &inner[..last]).count(),
                char_count(&inner[last + 1..]) + 1,
            ),
        }
    }
}

/// UTF-8 characters in `bytes`: every byte that is not a continuation byte (`10xxxxxx`).
fn char_count(bytes: &[u8]) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut continuations = 0;
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        // Bit 7 of each byte set where the byte is 10xxxxxx.
        continuations += (w & !(w << 1) & HIGH).count_ones() as usize;
    }
    continuations += chunks
        .remainder()
        .iter()
        .filter(|&&b| (b & 0xC0) == 0x80)
        .count();
    bytes.len() - continuations
}

/// The line of a secret, cut to a readable width around it, with every secret on it shown
/// redacted (or clear with `--show-secrets`).
fn snippet(
    bytes: &[u8],
    line: Range<usize>,
    secret: &Range<usize>,
    all: &[Range<usize>],
    show: bool,
) -> String {
    const MAX: usize = 240;
    let mut window = line.clone();
    if window.len() > MAX {
        let start = secret.start.saturating_sub(80).max(line.start);
        window = start..(start + MAX).min(line.end);
    }
    let mut out = String::new();
    let mut pos = window.start;
    let mut spans: Vec<&Range<usize>> = all
        .iter()
        .filter(|r| r.start < window.end && r.end > window.start)
        .collect();
    spans.sort_by_key(|r| r.start);
    for r in spans {
        if r.start < pos {
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&bytes[pos..r.start]));
        let shown = if show {
            String::from_utf8_lossy(&bytes[r.start..r.end.min(window.end)]).into_owned()
        } else {
            redact(&bytes[r.clone()])
        };
        out.push_str(&shown);
        pos = r.end;
        if pos >= window.end {
            break;
        }
    }
    if pos < window.end {
        out.push_str(&String::from_utf8_lossy(&bytes[pos..window.end]));
    }
    let mut s: String = out.chars().filter(|c| *c != '\r').collect();
    if window.start > line.start {
        s.insert(0, '…');
    }
    if window.end < line.end {
        s.push('…');
    }
    s.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_counts_lines_and_chars() {
        let text = "ab\ncdé f\ng";
        let mut c = LineCursor::new(text.as_bytes());
        assert_eq!(c.position(0), (1, 1));
        let f = text.find('f').unwrap();
        assert_eq!(c.position(f), (2, 5));
        assert_eq!(c.position_after(f, f + 1), (2, 6));
        let g = text.find('g').unwrap();
        assert_eq!(c.position(g), (3, 1));
    }

    /// The incremental cursor agrees with counting each position from the blob's start, for
    /// many positions per line, multi-byte characters and spans that cross lines.
    #[test]
    fn cursor_agrees_with_counting_from_the_start() {
        fn naive(text: &str, pos: usize) -> (usize, usize) {
            let before = &text.as_bytes()[..pos];
            let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
            let line_start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            (line, text[line_start..pos].chars().count() + 1)
        }
        let pieces = ["a", "é", "€", "😀", "\n", "key=", "\r\n", " "];
        let mut rng = crate::test_rng::XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut next = move || rng.next_u64();
        for _ in 0..300 {
            let len = (next() % 200) as usize;
            let text: String = (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect();
            let mut bounds: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            bounds.retain(|_| next() % 3 == 0);
            let mut c = LineCursor::new(text.as_bytes());
            for w in bounds.windows(2) {
                assert_eq!(c.position(w[0]), naive(&text, w[0]), "{text:?} at {}", w[0]);
                assert_eq!(c.position_after(w[0], w[1]), naive(&text, w[1]), "{text:?}");
            }
        }
    }

    #[test]
    fn snippet_redacts_every_secret_on_the_line() {
        let text = b"a=SECRETONE1234567 b=SECRETTWO7654321";
        let one = 2..18;
        let two = 21..37;
        let s = snippet(
            text,
            0..text.len(),
            &one,
            &[one.clone(), two.clone()],
            false,
        );
        assert!(!s.contains("SECRETONE") && !s.contains("SECRETTWO"), "{s}");
        let s = snippet(text, 0..text.len(), &one, &[one.clone(), two], true);
        assert!(s.contains("SECRETONE1234567"), "{s}");
    }
}
