//! The repository stands alone: every reference a comment or document makes to a design decision,
//! to the reference's behaviour or to a test-catalog case resolves to a file in the repository.
//!
//! Scanned: every file of the repository (as git lists it, ignored files left out). Refused:
//! paths outside the repository, decisions cited by number instead of `ADR NNNN`, fact sections,
//! and section signs that name no public standard. Checked:
//! `ADR NNNN` has a record in `docs/decisions/`, `docs/*.md` paths and relative Markdown links
//! exist (with their `#anchor`), so do repository paths in Markdown inline code, and every case-ID
//! family is explained in `docs/test-catalog.md`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fancy_regex::Regex;

/// Directories of generated or installed files, skipped when git cannot list the repository.
const SKIPPED_DIRS: [&str; 8] =
    [".git", "target", "node_modules", ".venv", "__pycache__", ".pytest_cache", "corpus", "artifacts"];
/// Words before a section sign that name a public standard (`RFC 7519 §4.1.4`).
const STANDARDS: &str = r"(RFC \d{3,5}|OIDC Discovery|OpenID Connect Core|ASVS [\d.]+)";
/// Upper-case words followed by a hyphen and a number that are not catalog case IDs.
const NOT_CASE_IDS: [&str; 4] = ["UTF", "ISO", "SHA", "CVE"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root exists")
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

/// What the rules need to know about the repository.
struct Repo {
    root: PathBuf,
    adr_numbers: BTreeSet<u32>,
    catalog_families: BTreeSet<String>,
}

impl Repo {
    fn load(root: PathBuf) -> Repo {
        let adr_numbers = std::fs::read_dir(root.join("docs/decisions"))
            .expect("docs/decisions/ exists")
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                let (number, rest) = name.split_once('-')?;
                (rest.ends_with(".md") && number.len() == 4).then(|| number.parse().ok())?
            })
            .collect();
        let catalog =
            std::fs::read_to_string(root.join("docs/test-catalog.md")).expect("docs/test-catalog.md exists");
        // Families are the first cell of the catalog table, in backticks: | `JWT-F` | ...
        let family = regex(r"(?m)^\| `([A-Z]+(?:-[A-Z])?)` \|");
        let catalog_families = family
            .captures_iter(&catalog)
            .map(|captures| captures.expect("no backtracking limit")[1].to_string())
            .collect();
        Repo { root, adr_numbers, catalog_families }
    }
}

/// The anchors GitHub gives a Markdown file's headings.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut inside_fence = false;
    let mut anchors = BTreeSet::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            inside_fence = !inside_fence;
        }
        if inside_fence || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        anchors.insert(slug);
    }
    anchors
}

/// Whether `target` (a repository path, with an optional `#anchor`) exists.
fn resolves(base: &Path, target: &str) -> Result<(), String> {
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let file = if path.is_empty() { base.to_path_buf() } else { base.parent().unwrap_or(base).join(path) };
    if !file.exists() {
        return Err(format!("`{target}` does not exist in the repository"));
    }
    if let Some(anchor) = anchor {
        let text = std::fs::read_to_string(&file).map_err(|_| format!("`{path}` is not a text file"))?;
        if !anchors(&text).contains(anchor) {
            return Err(format!("`{target}`: no heading with the anchor `#{anchor}`"));
        }
    }
    Ok(())
}

/// The patterns, compiled once.
struct Rules {
    outside: Regex,
    decision_number: Regex,
    facts: Regex,
    section_sign: Regex,
    standard_before: Regex,
    adr: Regex,
    docs_path: Regex,
    markdown_link: Regex,
    inline_code: Regex,
    code_path: Regex,
    case_id: Regex,
    test_name: Regex,
}

impl Rules {
    fn new() -> Rules {
        Rules {
            outside: regex(
                r"(?i)(/work/shared|\.\./shared|shared/spec|reference-facts|reference-observed|reference-traffic|reliability-cases|\bdecisions\.md)",
            ),
            decision_number: regex(r"(?i)\bdecisions?\s+#?\d+"),
            facts: regex(r"(?i)\bfacts?\s*(§|\d|section)"),
            section_sign: regex(r"§\s?\d"),
            standard_before: regex(&format!(r"{STANDARDS}[^§]{{0,12}}(§[\d.]+\W{{0,3}}){{0,3}}$")),
            adr: regex(r"\bADRs? (\d{4})(?:[–-](\d{4}))?"),
            docs_path: regex(r"(?<![\w/.])docs/[\w./-]+\.md(#[\w-]+)?"),
            markdown_link: regex(r"\]\(([^)\s]+)\)"),
            inline_code: regex(r"`[^`]*`"),
            code_path: regex(r"`((?:crates|tests|scripts|docs|fuzz)/[^`\s*{}<>…]*)`"),
            case_id: regex(r"\b([A-Z]{2,5})-([A-Z]?)\d{2}\b"),
            test_name: regex(r"\bfn ([a-z]{2,5})_([a-z]?)\d{2}_"),
        }
    }
}

/// The problems of one file's text; `path` is relative to the repository root.
fn problems(repo: &Repo, rules: &Rules, path: &Path, text: &str) -> Vec<String> {
    let Rules {
        outside,
        decision_number,
        facts,
        section_sign,
        standard_before,
        adr,
        docs_path,
        markdown_link,
        inline_code,
        code_path,
        case_id,
        test_name,
    } = rules;
    let absolute = repo.root.join(path);
    let is_markdown = path.extension().is_some_and(|extension| extension == "md");
    let mut found = Vec::new();
    let mut inside_fence = false;
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            inside_fence = !inside_fence;
        }
        let mut report = |message: String| found.push(format!("{}:{}: {message}", path.display(), index + 1));
        let all = |pattern: &Regex| -> Vec<fancy_regex::Captures> {
            pattern.captures_iter(line).map(|captures| captures.expect("no backtracking limit")).collect()
        };
        for captures in all(outside) {
            report(format!("`{}` points at files outside the repository", &captures[0]));
        }
        for captures in all(decision_number) {
            report(format!("`{}`: cite the record as `ADR NNNN` (docs/decisions/)", &captures[0]));
        }
        for captures in all(facts) {
            report(format!("`{}`: point at a section of docs/reference-behaviour.md instead", &captures[0]));
        }
        for matched in section_sign.find_iter(line).map(|m| m.expect("no backtracking limit")) {
            let before = &line[..matched.start()];
            if !standard_before.is_match(before).expect("no backtracking limit") {
                report(format!(
                    "`{}` names no public standard (write `RFC NNNN §x` or link a doc)",
                    matched.as_str()
                ));
            }
        }
        for captures in all(adr) {
            for number in [captures.get(1), captures.get(2)].into_iter().flatten() {
                let number: u32 = number.as_str().parse().expect("four digits");
                if !repo.adr_numbers.contains(&number) {
                    report(format!("ADR {number:04} has no record in docs/decisions/"));
                }
            }
        }
        for matched in docs_path.find_iter(line).map(|m| m.expect("no backtracking limit")) {
            if let Err(problem) = resolves(&repo.root.join("README.md"), matched.as_str()) {
                report(problem);
            }
        }
        if is_markdown && !inside_fence {
            // A repository path in inline code names a file or folder that exists.
            for captures in all(code_path) {
                let target = captures[1].trim_end_matches('/');
                if !repo.root.join(target.split('#').next().unwrap_or(target)).exists() {
                    report(format!("`{target}` does not exist in the repository"));
                }
            }
            let prose = inline_code.replace_all(line, "");
            for captures in
                markdown_link.captures_iter(&prose).map(|captures| captures.expect("no backtracking limit"))
            {
                let target = &captures[1];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                if let Err(problem) = resolves(&absolute, target) {
                    report(problem);
                }
            }
        }
        for captures in all(case_id) {
            if NOT_CASE_IDS.contains(&&captures[1]) {
                continue;
            }
            let family = if captures[2].is_empty() {
                captures[1].to_string()
            } else {
                format!("{}-{}", &captures[1], &captures[2])
            };
            if !repo.catalog_families.contains(&family) {
                report(format!(
                    "case ID `{}`: family `{family}` is not in docs/test-catalog.md",
                    &captures[0]
                ));
            }
        }
        for captures in all(test_name) {
            let family = if captures[2].is_empty() {
                captures[1].to_uppercase()
            } else {
                format!("{}-{}", captures[1].to_uppercase(), captures[2].to_uppercase())
            };
            if !repo.catalog_families.contains(&family) {
                report(format!("test named after `{family}`, a family not in docs/test-catalog.md"));
            }
        }
    }
    found
}

/// The repository's files: what git tracks or would track (`.gitignore` honoured), or, without git,
/// a walk that skips the usual generated and installed folders.
fn repository_files(root: &Path) -> Vec<PathBuf> {
    let listed = std::process::Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output();
    if let Some(output) = listed.ok().filter(|output| output.status.success()) {
        return output
            .stdout
            .split(|byte| *byte == 0)
            .filter(|name| !name.is_empty())
            .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
            .collect();
    }
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files);
    files
}

fn walk(root: &Path, relative: &Path, files: &mut Vec<PathBuf>) {
    let absolute = root.join(relative);
    if absolute.is_file() {
        files.push(relative.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(&absolute) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let skipped =
            SKIPPED_DIRS.contains(&name.as_str()) || name.starts_with("target-") || name.starts_with(".venv");
        if !skipped {
            walk(root, &relative.join(name), files);
        }
    }
}

#[test]
fn every_reference_resolves_inside_the_repository() {
    let root = repo_root();
    let repo = Repo::load(root.clone());
    let rules = Rules::new();
    assert!(repo.adr_numbers.len() >= 20, "docs/decisions/ holds the records");
    assert!(repo.catalog_families.contains("GW"), "docs/test-catalog.md lists the families in its table");
    let this_file = Path::new(file!()).file_name().expect("a file name").to_owned();
    let files = repository_files(&root);
    let mut scanned = 0;
    let mut all_problems = Vec::new();
    for path in files {
        // The rules are spelt out in this file; it cannot be held to them.
        if path.file_name() == Some(this_file.as_os_str()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(&path)) else { continue };
        scanned += 1;
        all_problems.extend(problems(&repo, &rules, &path, &text));
    }
    assert!(scanned > 100, "scanned only {scanned} files under {}", root.display());
    assert!(
        all_problems.is_empty(),
        "{} reference(s) do not resolve:\n{}",
        all_problems.len(),
        all_problems.join("\n")
    );
}

#[test]
fn the_rules_catch_what_they_are_for() {
    let repo = Repo::load(repo_root());
    let rules = Rules::new();
    let check = |line: &str| problems(&repo, &rules, Path::new("crates/x.rs"), line);
    for bad in [
        "// as decision 17 says",
        "// the explicit denies of facts §4.5",
        "// see facts 2.4",
        "// see /work/shared/spec/decisions.md",
        "// see ../shared/style.md",
        "// section 2 of reference-observed.md",
        "// §2.4 of the spec",
        "// ADR 0999",
        "// docs/nowhere.md",
        "// docs/reference-behaviour.md#no-such-heading",
        "// case ZZ-01",
        "fn qq_01_something() {}",
    ] {
        assert!(!check(bad).is_empty(), "not flagged: {bad}");
    }
    for good in [
        "// RFC 7519 §4.1.4: on or after exp is expired",
        "// RFC 8725 §3.11/§3.12",
        "// (ADR 0017: immediately)",
        "// ADRs 0012–0014",
        "// docs/reference-behaviour.md#path-patterns",
        "// GW-10, JWT-F07 and CLI-D01; UTF-16 and SHA-256 are not case IDs",
        "fn gw_10_delegation() {}",
        "// the facts of the case",
    ] {
        assert_eq!(check(good), Vec::<String>::new(), "flagged: {good}");
    }
    let markdown = |text: &str| problems(&repo, &rules, Path::new("docs/x.md"), text);
    assert!(!markdown("see [the record](decisions/0017-nowhere.md)").is_empty());
    assert!(!markdown("see [flow](reference-behaviour.md#no-such-heading)").is_empty());
    assert_eq!(markdown("see [flow](reference-behaviour.md#request-flow)"), Vec::<String>::new());
    assert_eq!(markdown("the pattern `^[a-z](?!.*--)` in inline code"), Vec::<String>::new());
    assert!(!markdown("tests live in `crates/nowhere/tests/e2e.rs`").is_empty());
    assert_eq!(
        markdown("tests live in `crates/server/tests/e2e/` and `crates/core/policy/*.tsv`"),
        Vec::<String>::new()
    );
}
