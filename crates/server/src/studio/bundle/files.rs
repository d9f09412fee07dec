//! The official Studio bundle's files, read once at start into memory: `STUDIO_UI_*` markers
//! written (known ones to their value, the rest to ""), content types, validators and caching
//! rules decided per file, and the hashes of the inline import map for the CSP. A request is
//! answered from this table by exact relative path, so nothing outside the directory, and nothing
//! added to it after start, can be served.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use axum::body::Bytes;
use base64::Engine;
use regex::Regex;
use sha2::{Digest, Sha256};

/// A bundle larger than this is almost certainly the wrong directory (the official one is ~25 MB).
const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;
const MAX_FILES: usize = 20_000;

/// One file, ready to serve.
pub struct BundleFile {
    pub body: Bytes,
    pub content_type: &'static str,
    /// A strong validator: a digest of the served bytes.
    pub etag: String,
    /// Long-cacheable: a content-hashed Vite asset we served unchanged.
    pub immutable: bool,
}

/// The loaded bundle.
pub struct Bundle {
    dir: PathBuf,
    files: HashMap<String, BundleFile>,
    /// `'sha256-…'` sources of the inline `<script type="importmap">` blocks of the HTML files.
    pub inline_script_hashes: Vec<String>,
    /// How many files had markers written.
    pub rewritten: usize,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("dir", &self.dir)
            .field("files", &self.files.len())
            .field("rewritten", &self.rewritten)
            .finish()
    }
}

/// What a path under `/studio/` resolves to.
pub enum Resolved<'a> {
    /// A file of the bundle (`html` for an HTML page, which gets the page treatment).
    File { file: &'a BundleFile, html: bool },
    /// Nothing: 404.
    NotFound,
}

fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "txt" => "text/plain; charset=utf-8",
        other => mime_guess::from_ext(other).first_raw().unwrap_or("application/octet-stream"),
    }
}

/// Vite names its build output `assets/<name>-<8+ char hash>.<ext>`.
fn is_hashed_asset(path: &str) -> bool {
    let Some(name) = path.strip_prefix("assets/") else { return false };
    let stem = name.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(name);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn marker_pattern() -> Regex {
    #[allow(clippy::expect_used)] // a constant pattern
    Regex::new("STUDIO_UI_[A-Z_]+").expect("valid pattern")
}

fn importmap_pattern() -> Regex {
    #[allow(clippy::expect_used)] // a constant pattern
    Regex::new(r#"(?s)<script\s+type=["']importmap["']\s*>(.*?)</script>"#).expect("valid pattern")
}

/// Every marker replaced: known ones by their value, unknown ones by "".
pub fn rewrite_markers(text: &str, values: &BTreeMap<String, String>) -> String {
    marker_pattern()
        .replace_all(text, |found: &regex::Captures<'_>| values.get(&found[0]).cloned().unwrap_or_default())
        .into_owned()
}

impl Bundle {
    /// Read `dir` (the wheel's `nmp/studio/static`). Hidden files and symbolic links inside it
    /// are skipped. The error names the problem, for `studio.bundle_dir`.
    pub fn load(dir: &Path, values: &BTreeMap<String, String>) -> Result<Bundle, String> {
        let root = dir.canonicalize().map_err(|e| format!("`{}`: {e}", dir.display()))?;
        if !root.is_dir() {
            return Err(format!("`{}` is not a directory", dir.display()));
        }
        if !root.join("index.html").is_file() {
            return Err(format!(
                "`{}` has no index.html: point it at the `nmp/studio/static` directory of the official nemo-platform wheel",
                dir.display()
            ));
        }
        let markers = marker_pattern();
        let importmap = importmap_pattern();
        let mut files = HashMap::new();
        let mut inline_script_hashes = Vec::new();
        let mut rewritten = 0;
        let mut total: u64 = 0;
        let walk = walkdir::WalkDir::new(&root).follow_links(false).into_iter().filter_entry(|entry| {
            entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.')
        });
        for entry in walk {
            let entry = entry.map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(relative) = entry.path().strip_prefix(&root) else { continue };
            let Some(key) = relative
                .components()
                .map(|part| part.as_os_str().to_str())
                .collect::<Option<Vec<_>>>()
                .map(|parts| parts.join("/"))
            else {
                continue; // not UTF-8: no URL can name it
            };
            let bytes = std::fs::read(entry.path())
                .map_err(|e| format!("cannot read `{}`: {e}", entry.path().display()))?;
            total += bytes.len() as u64;
            if total > MAX_TOTAL_BYTES || files.len() >= MAX_FILES {
                return Err(format!(
                    "`{}` holds more than {} MiB or {MAX_FILES} files: point it at the bundle's own directory (`nmp/studio/static`)",
                    dir.display(),
                    MAX_TOTAL_BYTES / 1024 / 1024
                ));
            }
            let textual = key.ends_with(".js") || key.ends_with(".html") || key.ends_with(".mjs");
            let (body, changed) = match (textual, std::str::from_utf8(&bytes)) {
                (true, Ok(text)) if markers.is_match(text) => {
                    (rewrite_markers(text, values).into_bytes(), true)
                }
                _ => (bytes, false),
            };
            if changed {
                rewritten += 1;
            }
            if key.ends_with(".html") {
                let text = String::from_utf8_lossy(&body);
                for script in importmap.captures_iter(&text) {
                    let digest = Sha256::digest(script[1].as_bytes());
                    let source =
                        format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest));
                    if !inline_script_hashes.contains(&source) {
                        inline_script_hashes.push(source);
                    }
                }
            }
            let file = BundleFile {
                content_type: content_type(&key),
                etag: etag(&body),
                immutable: !changed && is_hashed_asset(&key),
                body: Bytes::from(body),
            };
            files.insert(key, file);
        }
        Ok(Bundle { dir: root, files, inline_script_hashes, rewritten })
    }

    fn index(&self) -> Resolved<'_> {
        match self.files.get("index.html") {
            Some(file) => Resolved::File { file, html: true },
            None => Resolved::NotFound,
        }
    }

    /// The reference's rules for a path under `/studio/` (`rest`, percent-decoded, without the
    /// prefix): the file itself; else, for a last segment without an extension, `<rest>.html`
    /// or `index.html` (the SPA's own routes); else 404. A path with an empty, `.` or `..`
    /// segment or a backslash names no file and is not a route either.
    pub fn resolve(&self, rest: &str) -> Resolved<'_> {
        if rest.is_empty() {
            return self.index();
        }
        let trimmed = rest.strip_suffix('/').unwrap_or(rest);
        let suspicious = trimmed.contains('\\')
            || trimmed.contains('\0')
            || trimmed.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..");
        if suspicious {
            return Resolved::NotFound;
        }
        if let Some(file) = self.files.get(trimmed) {
            return Resolved::File { file, html: trimmed.ends_with(".html") };
        }
        let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
        if last.contains('.') {
            return Resolved::NotFound;
        }
        if let Some(file) = self.files.get(&format!("{trimmed}.html")) {
            return Resolved::File { file, html: true };
        }
        self.index()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> (tempfile::TempDir, Bundle) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("static");
        std::fs::create_dir_all(root.join("assets")).unwrap();
        std::fs::write(
            root.join("index.html"),
            "<html><script type=\"importmap\">{\"imports\":{}}</script><script src=\"/studio/assets/index-Bi75BX3O.js\"></script></html>",
        )
        .unwrap();
        std::fs::write(root.join("assets/index-Bi75BX3O.js"), "console.log(1)").unwrap();
        std::fs::write(
            root.join("assets/environment-Dz6mOgfy.js"),
            "a='STUDIO_UI_VITE_AUTH_AUTHORITY';b='STUDIO_UI_VITE_UNKNOWN_THING'",
        )
        .unwrap();
        std::fs::write(root.join("favicon.svg"), "<svg/>").unwrap();
        std::fs::write(root.join("about.html"), "<p>about</p>").unwrap();
        std::fs::write(root.join(".hidden"), "no").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("link.txt")).unwrap();
        let values =
            BTreeMap::from([("STUDIO_UI_VITE_AUTH_AUTHORITY".to_string(), "https://idp".to_string())]);
        let bundle = Bundle::load(&root, &values).unwrap();
        (dir, bundle)
    }

    fn body(resolved: Resolved<'_>) -> Option<(String, bool)> {
        match resolved {
            Resolved::File { file, html } => Some((String::from_utf8_lossy(&file.body).into_owned(), html)),
            Resolved::NotFound => None,
        }
    }

    #[test]
    fn markers_are_written_and_unknown_ones_blanked() {
        let (_dir, bundle) = bundle();
        let (text, _) = body(bundle.resolve("assets/environment-Dz6mOgfy.js")).unwrap();
        assert_eq!(text, "a='https://idp';b=''");
        assert_eq!(bundle.rewritten, 1);
        let Resolved::File { file, .. } = bundle.resolve("assets/environment-Dz6mOgfy.js") else { panic!() };
        assert!(!file.immutable, "a rewritten file changes with the config: not long-cacheable");
        let Resolved::File { file, .. } = bundle.resolve("assets/index-Bi75BX3O.js") else { panic!() };
        assert!(file.immutable);
        assert_eq!(file.content_type, "text/javascript; charset=utf-8");
        let Resolved::File { file, .. } = bundle.resolve("favicon.svg") else { panic!() };
        assert!(!file.immutable);
        assert_eq!(file.content_type, "image/svg+xml");
        assert_eq!(bundle.inline_script_hashes.len(), 1);
    }

    #[test]
    fn spa_fallback_and_404_for_missing_assets() {
        let (_dir, bundle) = bundle();
        for route in ["", "workspaces/alice/members", "auth/success", "workspaces/"] {
            let (text, html) = body(bundle.resolve(route)).unwrap();
            assert!(html && text.contains("importmap"), "{route} should answer index.html");
        }
        assert_eq!(body(bundle.resolve("about")).unwrap().0, "<p>about</p>");
        for missing in ["assets/missing-abcdefgh.js", "nope.css", "workspaces/x.json"] {
            assert!(body(bundle.resolve(missing)).is_none(), "{missing}");
        }
    }

    #[test]
    fn nothing_outside_the_directory_or_hidden_is_served() {
        let (_dir, bundle) = bundle();
        for attempt in [
            "../secret.txt",
            "assets/../../secret.txt",
            "..",
            "./index.html",
            "assets//index-Bi75BX3O.js",
            "..\\secret.txt",
            "link.txt",
            ".hidden",
            "/etc/passwd",
            "assets/../index.html",
        ] {
            assert!(body(bundle.resolve(attempt)).is_none(), "{attempt} must be a 404");
        }
        assert!(bundle.files.keys().all(|key| !key.contains("secret")));
    }

    #[test]
    fn a_directory_without_index_html_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let error = Bundle::load(dir.path(), &BTreeMap::new()).unwrap_err();
        assert!(error.contains("no index.html"), "{error}");
        let error = Bundle::load(&dir.path().join("absent"), &BTreeMap::new()).unwrap_err();
        assert!(error.contains("absent"), "{error}");
    }
}
