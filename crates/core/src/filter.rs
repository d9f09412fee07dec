//! List filters: the reference's three spellings (text `name:"ws1" AND ...`, JSON
//! `{"name":{"$like":"ws"}}`, bracket `filter[name][$like]=ws`) parsed into one expression tree.
//! Which fields exist is the store's business; this module only parses.

use serde_json::{json, Map, Value as Json};

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare { field: String, op: Op, value: Value },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    /// Substring match.
    Like,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    NotIn,
}

impl Op {
    fn mongo(self) -> &'static str {
        match self {
            Op::Eq => "$eq",
            Op::Like => "$like",
            Op::Lt => "$lt",
            Op::Lte => "$lte",
            Op::Gt => "$gt",
            Op::Gte => "$gte",
            Op::In => "$in",
            Op::NotIn => "$nin",
        }
    }

    fn from_mongo(text: &str) -> Option<Op> {
        Some(match text {
            "$eq" => Op::Eq,
            "$like" => Op::Like,
            "$lt" => Op::Lt,
            "$lte" => Op::Lte,
            "$gt" => Op::Gt,
            "$gte" => Op::Gte,
            "$in" => Op::In,
            "$nin" => Op::NotIn,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Number(f64),
    List(Vec<Value>),
}

impl Value {
    fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Text(t) => Json::String(t.clone()),
            Value::Number(n) => json!(n),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
        }
    }

    fn from_json(value: &Json) -> Result<Value, FilterError> {
        Ok(match value {
            Json::Null => Value::Null,
            Json::String(s) => Value::Text(s.clone()),
            Json::Number(n) => Value::Number(n.as_f64().unwrap_or_default()),
            Json::Bool(b) => Value::Text(b.to_string()),
            Json::Array(items) => Value::List(items.iter().map(Value::from_json).collect::<Result<_, _>>()?),
            Json::Object(_) => return Err(FilterError::NestedObject),
        })
    }
}

/// Why a filter could not be parsed. The server answers 400 `Invalid filter query: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("filter longer than {max} characters")]
    TooLong { max: usize },
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("nested objects are not values")]
    NestedObject,
    #[error("unknown operator `{0}`")]
    UnknownOperator(String),
    #[error("filter nested too deeply")]
    TooDeep,
    #[error("a JSON filter must be an object")]
    NotAnObject,
    #[error("`{0}` needs a list")]
    NeedsList(String),
    /// The field name, cut to 64 characters.
    #[error("invalid field name `{0}`")]
    InvalidField(String),
    #[error("empty filter")]
    Empty,
    #[error("unexpected {found} at token {position}")]
    UnexpectedToken { found: String, position: usize },
    #[error("missing `)`")]
    MissingCloseParen,
    #[error("expected a field name, found {0}")]
    ExpectedField(String),
    #[error("unexpected end of filter")]
    UnexpectedEnd,
    #[error("expected an operator after `{field}`, found {found}")]
    ExpectedOperator { field: String, found: String },
    #[error("expected a quoted string, a number or null, found {0}")]
    ExpectedScalar(String),
    #[error("expected `(` to start a list")]
    ExpectedList,
    #[error("expected `,` or `)`, found {0}")]
    ExpectedListSeparator(String),
    #[error("unterminated quoted string")]
    UnterminatedString,
    #[error("unexpected character `{character}` at position {position}")]
    UnexpectedCharacter { character: char, position: usize },
    #[error("invalid number `{0}`")]
    InvalidNumber(String),
}

/// Longest filter text accepted; longer ones are refused before parsing.
pub const MAX_FILTER_LEN: usize = 4096;
const MAX_DEPTH: usize = 16;

impl Filter {
    /// Parse the `filter` query parameter: JSON when it starts with `{`, the text syntax otherwise.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        if text.len() > MAX_FILTER_LEN {
            return Err(FilterError::TooLong { max: MAX_FILTER_LEN });
        }
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            let json: Json =
                serde_json::from_str(trimmed).map_err(|e| FilterError::InvalidJson(e.to_string()))?;
            Filter::from_json(&json, 0)
        } else {
            TextParser::new(trimmed)?.parse_all()
        }
    }

    /// Parse bracket notation: pairs like (`name`, `$like`, `ws`) from `filter[name][$like]=ws`,
    /// or (`name`, ``, `ws`) from `filter[name]=ws`. All pairs are AND-ed.
    pub fn from_brackets(pairs: &[(String, String, String)]) -> Result<Filter, FilterError> {
        let mut parts = Vec::with_capacity(pairs.len());
        for (field, op, value) in pairs {
            check_field(field)?;
            let op = if op.is_empty() {
                Op::Eq
            } else {
                Op::from_mongo(op).ok_or_else(|| FilterError::UnknownOperator(op.to_string()))?
            };
            let value = match op {
                Op::In | Op::NotIn => {
                    Value::List(value.split(',').map(|v| Value::Text(v.to_string())).collect())
                }
                _ => Value::Text(value.clone()),
            };
            parts.push(Filter::Compare { field: field.clone(), op, value });
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::And(parts) })
    }

    fn from_json(json: &Json, depth: usize) -> Result<Filter, FilterError> {
        if depth > MAX_DEPTH {
            return Err(FilterError::TooDeep);
        }
        let object = json.as_object().ok_or(FilterError::NotAnObject)?;
        let mut parts = Vec::new();
        for (key, value) in object {
            match key.as_str() {
                "$and" | "$or" => {
                    let items = value.as_array().ok_or_else(|| FilterError::NeedsList(key.to_string()))?;
                    let inner = items
                        .iter()
                        .map(|i| Filter::from_json(i, depth + 1))
                        .collect::<Result<Vec<_>, _>>()?;
                    parts.push(if key == "$and" { Filter::And(inner) } else { Filter::Or(inner) });
                }
                "$not" => parts.push(Filter::Not(Box::new(Filter::from_json(value, depth + 1)?))),
                field => {
                    check_field(field)?;
                    match value {
                        Json::Object(ops) => {
                            for (op, operand) in ops {
                                let op = Op::from_mongo(op)
                                    .ok_or_else(|| FilterError::UnknownOperator(op.to_string()))?;
                                parts.push(Filter::Compare {
                                    field: field.to_string(),
                                    op,
                                    value: Value::from_json(operand)?,
                                });
                            }
                        }
                        other => parts.push(Filter::Compare {
                            field: field.to_string(),
                            op: Op::Eq,
                            value: Value::from_json(other)?,
                        }),
                    }
                }
            }
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::And(parts) })
    }

    /// The JSON (Mongo-like) spelling, echoed back in list answers as `filter`.
    pub fn to_json(&self) -> Json {
        match self {
            Filter::And(items) => json!({"$and": items.iter().map(Filter::to_json).collect::<Vec<_>>()}),
            Filter::Or(items) => json!({"$or": items.iter().map(Filter::to_json).collect::<Vec<_>>()}),
            Filter::Not(inner) => json!({"$not": inner.to_json()}),
            Filter::Compare { field, op, value } => {
                let mut ops = Map::new();
                ops.insert(op.mongo().to_string(), value.to_json());
                let mut outer = Map::new();
                outer.insert(field.clone(), Json::Object(ops));
                Json::Object(outer)
            }
        }
    }

    /// Every field name the filter mentions, so a store can refuse unknown ones.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Filter::And(items) | Filter::Or(items) => items.iter().flat_map(Filter::fields).collect(),
            Filter::Not(inner) => inner.fields(),
            Filter::Compare { field, .. } => vec![field.as_str()],
        }
    }
}

fn check_field(field: &str) -> Result<(), FilterError> {
    let ok = !field.is_empty()
        && field.len() <= 64
        && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(FilterError::InvalidField(field.chars().take(64).collect()))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Quoted(String),
    Number(f64),
    Null,
    And,
    Or,
    Not,
    In,
    Minus,
    LParen,
    RParen,
    Comma,
    Op(Op),
}

struct TextParser {
    tokens: Vec<Token>,
    pos: usize,
}

impl TextParser {
    fn new(text: &str) -> Result<Self, FilterError> {
        Ok(TextParser { tokens: tokenize(text)?, pos: 0 })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn parse_all(mut self) -> Result<Filter, FilterError> {
        if self.tokens.is_empty() {
            return Err(FilterError::Empty);
        }
        let filter = self.parse_or(0)?;
        match self.peek() {
            None => Ok(filter),
            Some(token) => {
                Err(FilterError::UnexpectedToken { found: format!("{token:?}"), position: self.pos + 1 })
            }
        }
    }

    fn parse_or(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let mut items = vec![self.parse_and(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.next();
            items.push(self.parse_and(depth)?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Filter::Or(items) })
    }

    fn parse_and(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let mut items = vec![self.parse_unary(depth)?];
        loop {
            match self.peek() {
                Some(Token::And) => {
                    self.next();
                    items.push(self.parse_unary(depth)?);
                }
                // Juxtaposition means AND, as in most search syntaxes.
                Some(Token::Ident(_) | Token::Minus | Token::LParen | Token::Not) => {
                    items.push(self.parse_unary(depth)?)
                }
                _ => break,
            }
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Filter::And(items) })
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Filter, FilterError> {
        if depth > MAX_DEPTH {
            return Err(FilterError::TooDeep);
        }
        match self.next() {
            Some(Token::Minus | Token::Not) => Ok(Filter::Not(Box::new(self.parse_unary(depth + 1)?))),
            Some(Token::LParen) => {
                let inner = self.parse_or(depth + 1)?;
                match self.next() {
                    Some(Token::RParen) => Ok(inner),
                    _ => Err(FilterError::MissingCloseParen),
                }
            }
            Some(Token::Ident(field)) => {
                check_field(&field)?;
                self.parse_comparison(field)
            }
            Some(other) => Err(FilterError::ExpectedField(format!("{other:?}"))),
            None => Err(FilterError::UnexpectedEnd),
        }
    }

    fn parse_comparison(&mut self, field: String) -> Result<Filter, FilterError> {
        let op = match self.next() {
            Some(Token::Op(op)) => op,
            Some(Token::In) => Op::In,
            Some(Token::Not) if self.peek() == Some(&Token::In) => {
                self.next();
                Op::NotIn
            }
            other => {
                return Err(FilterError::ExpectedOperator {
                    field: field.clone(),
                    found: format!("{other:?}"),
                })
            }
        };
        let value = if matches!(op, Op::In | Op::NotIn) { self.parse_list()? } else { self.parse_scalar()? };
        Ok(Filter::Compare { field, op, value })
    }

    fn parse_scalar(&mut self) -> Result<Value, FilterError> {
        match self.next() {
            Some(Token::Quoted(s)) => Ok(Value::Text(s)),
            Some(Token::Number(n)) => Ok(Value::Number(n)),
            Some(Token::Null) => Ok(Value::Null),
            other => Err(FilterError::ExpectedScalar(format!("{other:?}"))),
        }
    }

    fn parse_list(&mut self) -> Result<Value, FilterError> {
        if self.next() != Some(Token::LParen) {
            return Err(FilterError::ExpectedList);
        }
        let mut items = vec![self.parse_scalar()?];
        loop {
            match self.next() {
                Some(Token::Comma) => items.push(self.parse_scalar()?),
                Some(Token::RParen) => return Ok(Value::List(items)),
                other => return Err(FilterError::ExpectedListSeparator(format!("{other:?}"))),
            }
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            ':' => {
                tokens.push(Token::Op(Op::Eq));
                i += 1;
            }
            '~' => {
                tokens.push(Token::Op(Op::Like));
                i += 1;
            }
            '>' | '<' => {
                let or_equal = chars.get(i + 1) == Some(&'=');
                tokens.push(Token::Op(match (c, or_equal) {
                    ('>', true) => Op::Gte,
                    ('>', false) => Op::Gt,
                    ('<', true) => Op::Lte,
                    _ => Op::Lt,
                }));
                i += if or_equal { 2 } else { 1 };
            }
            '-' if chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())
                && matches!(tokens.last(), Some(Token::Op(_))) =>
            {
                let (number, next) = read_number(&chars, i)?;
                tokens.push(Token::Number(number));
                i = next;
            }
            '-' => {
                tokens.push(Token::Minus);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(FilterError::UnterminatedString),
                        Some('\\') => {
                            if let Some(escaped) = chars.get(i + 1) {
                                value.push(*escaped);
                            }
                            i += 2;
                        }
                        Some(ch) if *ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            value.push(*ch);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Quoted(value));
            }
            c if c.is_ascii_digit() => {
                let (number, next) = read_number(&chars, i)?;
                tokens.push(Token::Number(number));
                i = next;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(match word.as_str() {
                    "AND" => Token::And,
                    "OR" => Token::Or,
                    "NOT" => Token::Not,
                    "IN" => Token::In,
                    "null" | "NULL" => Token::Null,
                    _ => Token::Ident(word),
                });
            }
            other => return Err(FilterError::UnexpectedCharacter { character: other, position: i + 1 }),
        }
    }
    Ok(tokens)
}

fn read_number(chars: &[char], start: usize) -> Result<(f64, usize), FilterError> {
    let mut end = start + 1;
    while end < chars.len() && (chars[end].is_ascii_digit() || chars[end] == '.') {
        end += 1;
    }
    let text: String = chars[start..end].iter().collect();
    text.parse().map(|n| (n, end)).map_err(|_| FilterError::InvalidNumber(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(field: &str, value: &str) -> Filter {
        Filter::Compare { field: field.into(), op: Op::Eq, value: Value::Text(value.into()) }
    }

    #[test]
    fn text_syntax() {
        assert_eq!(Filter::parse(r#"name:"ws1""#).unwrap(), eq("name", "ws1"));
        assert_eq!(
            Filter::parse(r#"name:"a" OR name:"b""#).unwrap(),
            Filter::Or(vec![eq("name", "a"), eq("name", "b")])
        );
        assert_eq!(Filter::parse(r#"-name:"a""#).unwrap(), Filter::Not(Box::new(eq("name", "a"))));
        assert_eq!(
            Filter::parse(r#"name IN ("a", "b")"#).unwrap(),
            Filter::Compare {
                field: "name".into(),
                op: Op::In,
                value: Value::List(vec![Value::Text("a".into()), Value::Text("b".into())])
            }
        );
        assert!(matches!(
            Filter::parse(r#"name NOT IN ("a")"#).unwrap(),
            Filter::Compare { op: Op::NotIn, .. }
        ));
    }

    #[test]
    fn unquoted_value_is_an_error_as_in_the_reference() {
        let err = Filter::parse("name:ws1").unwrap_err();
        assert!(err.to_string().contains("expected a quoted string"), "{err}");
    }

    #[test]
    fn json_syntax_round_trips() {
        let parsed = Filter::parse(r#"{"name":{"$like":"ws"}}"#).unwrap();
        assert_eq!(
            parsed,
            Filter::Compare { field: "name".into(), op: Op::Like, value: Value::Text("ws".into()) }
        );
        assert_eq!(Filter::parse(&parsed.to_json().to_string()).unwrap(), parsed);
    }

    #[test]
    fn bracket_syntax() {
        let f = Filter::from_brackets(&[
            ("name".into(), "$like".into(), "w".into()),
            ("description".into(), String::new(), "x".into()),
        ])
        .unwrap();
        assert_eq!(f.fields(), vec!["name", "description"]);
    }

    #[test]
    fn garbage_is_rejected_not_panicking() {
        for bad in [
            "",
            "(",
            "name:",
            "name:\"x",
            "{",
            "{\"name\":{\"$regex\":\"x\"}}",
            "name > > 3",
            "))",
            "name:\"a\" AND",
            "\u{0}",
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad:?}");
        }
        let deep = "(".repeat(100) + "name:\"a\"" + &")".repeat(100);
        assert!(Filter::parse(&deep).is_err());
    }
}
