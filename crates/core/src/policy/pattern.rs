//! Endpoint path patterns (`/apis/models/v2/workspaces/{workspace}/models/{name}`), compiled once
//! and matched segment by segment, plus the workspace a matched path names.
//!
//! Rules (`docs/reference-behaviour.md#path-patterns`): `{x}` matches one non-empty segment; a
//! pattern ending in `/-/{x}` matches one or more trailing segments after the `-`; everything else
//! must match literally. The query string is never part of the match.

use std::fmt;

use super::grammar::is_placeholder_name;

/// One segment of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Placeholder(String),
}

/// A compiled path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    raw: String,
    /// `raw` split on `/`; the first segment is the empty literal before the leading slash.
    segments: Vec<Segment>,
    /// Ends in `/-/{x}`: the last placeholder swallows one or more segments.
    tail: bool,
    placeholders: usize,
    /// Index (in `segments`) of the segment that names the workspace, if any.
    workspace_position: Option<usize>,
}

/// Why a pattern was rejected; wrapped with the pattern by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternProblem(pub &'static str);

impl fmt::Display for PatternProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PathPattern {
    pub fn parse(raw: &str) -> Result<Self, PatternProblem> {
        if !raw.starts_with('/') {
            return Err(PatternProblem("must start with `/`"));
        }
        if raw.len() > 1 && raw.ends_with('/') {
            return Err(PatternProblem("must not end with `/`"));
        }
        let mut segments = Vec::new();
        for (index, text) in raw.split('/').enumerate() {
            if index == 0 {
                segments.push(Segment::Literal(String::new()));
                continue;
            }
            if text.is_empty() {
                return Err(PatternProblem("has an empty segment"));
            }
            if let Some(inner) = text.strip_prefix('{') {
                let name = inner.strip_suffix('}').ok_or(PatternProblem("has an unclosed `{`"))?;
                if !is_placeholder_name(name) {
                    return Err(PatternProblem("has a placeholder whose name is not `[a-z_][a-z0-9_]*`"));
                }
                segments.push(Segment::Placeholder(name.to_string()));
            } else if text.contains(['{', '}', '?', '#', '*']) {
                return Err(PatternProblem("has a literal segment containing `{`, `}`, `?`, `#` or `*`"));
            } else {
                segments.push(Segment::Literal(text.to_string()));
            }
        }
        let count = segments.len();
        let tail = count >= 3
            && matches!(&segments[count - 2], Segment::Literal(dash) if dash == "-")
            && matches!(segments[count - 1], Segment::Placeholder(_));
        let placeholders =
            segments.iter().filter(|segment| matches!(segment, Segment::Placeholder(_))).count();
        Ok(PathPattern {
            raw: raw.to_string(),
            workspace_position: workspace_position(&segments),
            segments,
            tail,
            placeholders,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Number of `{placeholder}` segments; the router prefers the fewest.
    pub fn placeholders(&self) -> usize {
        self.placeholders
    }

    pub fn has_tail(&self) -> bool {
        self.tail
    }

    /// Whether `path_segments` (a query-free path split on `/`) matches.
    pub fn matches(&self, path_segments: &[&str]) -> bool {
        let count = self.segments.len();
        let (fixed, ok_len) = if self.tail {
            // The fixed part is everything before the tail placeholder; the tail needs at
            // least one segment, and its first one must not be empty.
            (count - 1, path_segments.len() >= count && !path_segments[count - 1].is_empty())
        } else {
            (count, path_segments.len() == count)
        };
        // From the last segment back: patterns of one service share their first segments
        // (`/apis/<service>/v2/...`) and differ at the end, so a miss is found in one comparison.
        ok_len
            && self.segments[..fixed].iter().zip(path_segments).rev().all(|(segment, actual)| match segment {
                Segment::Literal(literal) => literal == actual,
                Segment::Placeholder(_) => !actual.is_empty(),
            })
    }

    /// The workspace a matching path names: the segment at `{workspace}` / `{workspace_id}`,
    /// else the placeholder right after a literal `workspaces`.
    pub fn workspace_in<'p>(&self, path_segments: &[&'p str]) -> Option<&'p str> {
        self.workspace_position.and_then(|position| path_segments.get(position).copied())
    }
}

fn workspace_position(segments: &[Segment]) -> Option<usize> {
    let named = segments.iter().position(
        |segment| matches!(segment, Segment::Placeholder(name) if name == "workspace" || name == "workspace_id"),
    );
    named.or_else(|| {
        segments
            .windows(2)
            .position(|pair| {
                matches!(&pair[0], Segment::Literal(literal) if literal == "workspaces")
                    && matches!(pair[1], Segment::Placeholder(_))
            })
            .map(|index| index + 1)
    })
}

/// The path without its query string, split on `/`.
/// Kept on the stack up to 16 segments (every path the policy routes), so a decision allocates none.
pub fn path_segments(path: &str) -> PathSegments<'_> {
    strip_query(path).split('/').collect()
}

/// A path split on `/` (see [`path_segments`]).
pub type PathSegments<'a> = smallvec::SmallVec<[&'a str; 16]>;

/// The path without `?query`.
pub fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(before, _)| before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(raw: &str) -> PathPattern {
        PathPattern::parse(raw).expect(raw)
    }

    #[test]
    fn placeholders_match_one_non_empty_segment() {
        let p = pattern("/apis/models/v2/workspaces/{workspace}/models/{name}");
        assert!(p.matches(&path_segments("/apis/models/v2/workspaces/ws1/models/m1?x=1")));
        assert!(!p.matches(&path_segments("/apis/models/v2/workspaces//models/m1")));
        assert!(!p.matches(&path_segments("/apis/models/v2/workspaces/ws1/models/m1/x")));
        assert_eq!(p.workspace_in(&path_segments("/apis/models/v2/workspaces/ws1/models/m1")), Some("ws1"));
        assert_eq!(p.placeholders(), 2);
    }

    #[test]
    fn tail_matches_one_or_more_segments() {
        let p = pattern("/apis/inference-gateway/v2/workspaces/{workspace}/model/{name}/-/{rest}");
        assert!(p.has_tail());
        let base = "/apis/inference-gateway/v2/workspaces/w/model/m/-";
        assert!(p.matches(&path_segments(&format!("{base}/v1"))));
        assert!(p.matches(&path_segments(&format!("{base}/v1/chat/completions"))));
        assert!(!p.matches(&path_segments(base)));
        assert!(!p.matches(&path_segments(&format!("{base}/"))));
    }

    #[test]
    fn workspace_after_literal_workspaces() {
        let p = pattern("/apis/entities/v2/workspaces/{name}");
        assert_eq!(p.workspace_in(&path_segments("/apis/entities/v2/workspaces/ws9")), Some("ws9"));
        assert_eq!(pattern("/apis/jobs/v2/execution-profiles").workspace_position, None);
    }

    #[test]
    fn malformed_patterns_are_rejected() {
        for bad in ["apis/x", "/apis//x", "/apis/x/", "/apis/{X}", "/apis/{x", "/apis/a*b"] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
