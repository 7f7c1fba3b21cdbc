//! Segments: which events and page views a question looks at.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use datafusion::sql::sqlparser::ast::Expr;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
use serde::{Deserialize, Serialize};

use super::{invalid, literal};
use crate::Result;

/// Longest accepted [`Segment::predicate`], in bytes.
pub const PREDICATE_BYTES_MAX: usize = 4096;

/// Narrows a question to part of the traffic. Every field is optional; all given ones must hold.
///
/// - `from`, `to`, `device`, `viewport_w_min`, `viewport_w_max` and `predicate` are **event**
///   filters: they apply to every event the question reads (page views, clicks, scrolls alike).
/// - `browser`, `os` and `referrer_domain` are only recorded on `pageview` events, so they are
///   **page-view** filters: an event counts when its page view's `pageview` event matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Segment {
    /// Events at or after this instant: `YYYY-MM-DD` (midnight UTC) or RFC 3339.
    pub from: Option<String>,
    /// Events before this instant (exclusive): `YYYY-MM-DD` (midnight UTC) or RFC 3339.
    pub to: Option<String>,
    /// Device class: `desktop`, `tablet` or `mobile`.
    pub device: Option<String>,
    /// Smallest viewport width in CSS px (inclusive).
    pub viewport_w_min: Option<i32>,
    /// Largest viewport width in CSS px (inclusive).
    pub viewport_w_max: Option<i32>,
    /// Browser name as Heatlake derives it (for example `Chrome`).
    pub browser: Option<String>,
    /// Operating system as Heatlake derives it (for example `Windows`).
    pub os: Option<String>,
    /// Referrer host equal to this domain or a subdomain of it (`google.com` matches
    /// `www.google.com`).
    pub referrer_domain: Option<String>,
    /// Any SQL boolean expression over the columns of `events`, applied to every event read.
    pub predicate: Option<String>,
}

impl Segment {
    /// The SQL conjunction selecting the events of `site` (and `path`, if given) in this segment.
    pub fn where_sql(&self, site: &str, path: Option<&str>) -> Result<String> {
        let mut parts = vec![format!("site = {}", literal(site))];
        if let Some(path) = path {
            parts.push(format!("path = {}", literal(path)));
        }
        parts.extend(self.time_sql()?);
        if let Some(device) = &self.device {
            if !["desktop", "tablet", "mobile"].contains(&device.as_str()) {
                return invalid(
                    "device",
                    format!("{device:?} is not desktop, tablet or mobile"),
                );
            }
            parts.push(format!("device = {}", literal(device)));
        }
        if let (Some(min), Some(max)) = (self.viewport_w_min, self.viewport_w_max)
            && min > max
        {
            return invalid(
                "viewport_w_min",
                format!("{min} is larger than viewport_w_max {max}"),
            );
        }
        if let Some(min) = self.viewport_w_min {
            parts.push(format!("viewport_w >= {min}"));
        }
        if let Some(max) = self.viewport_w_max {
            parts.push(format!("viewport_w <= {max}"));
        }
        if let Some(predicate) = &self.predicate {
            parts.push(format!("({})", parse_predicate(predicate)?));
        }
        if let Some(pageviews) = self.pageview_sql(site, path)? {
            parts.push(pageviews);
        }
        Ok(parts.join(" AND "))
    }

    /// `ts` bounds, and `date` bounds derived from them so that partitions are pruned.
    fn time_sql(&self) -> Result<Vec<String>> {
        let from = self
            .from
            .as_deref()
            .map(|text| parse_instant("from", text))
            .transpose()?;
        let to = self
            .to
            .as_deref()
            .map(|text| parse_instant("to", text))
            .transpose()?;
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return invalid("to", "must be later than from");
        }
        let mut parts = Vec::new();
        if let Some(from) = from {
            parts.push(format!("date >= DATE '{}'", from.date_naive()));
            parts.push(format!("ts >= {}", timestamp_literal(from)));
        }
        if let Some(to) = to {
            let last = to - chrono::TimeDelta::milliseconds(1);
            parts.push(format!("date <= DATE '{}'", last.date_naive()));
            parts.push(format!("ts < {}", timestamp_literal(to)));
        }
        Ok(parts)
    }

    /// The page-view filters (browser, os, referrer domain) as a semi-join on `pageview` events.
    fn pageview_sql(&self, site: &str, path: Option<&str>) -> Result<Option<String>> {
        let mut parts = Vec::new();
        if let Some(browser) = &self.browser {
            parts.push(format!("browser = {}", literal(browser)));
        }
        if let Some(os) = &self.os {
            parts.push(format!("os = {}", literal(os)));
        }
        if let Some(domain) = &self.referrer_domain {
            let domain = domain.trim().trim_start_matches('.').to_lowercase();
            if domain.is_empty() {
                return invalid("referrer_domain", "must not be empty");
            }
            let host = "lower(split_part(split_part(referrer, '://', 2), '/', 1))";
            parts.push(format!(
                "({host} = {} OR ends_with({host}, {}))",
                literal(&domain),
                literal(&format!(".{domain}"))
            ));
        }
        if parts.is_empty() {
            return Ok(None);
        }
        let mut scope = vec![
            format!("site = {}", literal(site)),
            "type = 'pageview'".to_owned(),
        ];
        if let Some(path) = path {
            scope.push(format!("path = {}", literal(path)));
        }
        scope.extend(self.time_sql()?);
        scope.extend(parts);
        Ok(Some(format!(
            "pageview_id IN (SELECT pageview_id FROM events WHERE {})",
            scope.join(" AND ")
        )))
    }
}

/// Parses `text` as exactly one SQL expression and prints it back from its syntax tree.
///
/// The printer does not escape every kind of literal (sqlparser 0.62 prints `N'a''b'` as
/// `N'a'b'`), so a printed predicate could end its own parentheses and add conditions of its
/// own. The printed text is therefore parsed again and must be the same tree and print the
/// same, and hold no comment; anything else is refused.
pub(crate) fn parse_predicate(text: &str) -> Result<String> {
    if text.len() > PREDICATE_BYTES_MAX {
        return invalid(
            "predicate",
            format!("longer than {PREDICATE_BYTES_MAX} bytes"),
        );
    }
    let expression = parse_one_expression(text)?;
    let printed = expression.to_string();
    let reads_back = parse_one_expression(&printed)
        .is_ok_and(|again| again == expression && again.to_string() == printed);
    if !reads_back || has_comment(&printed) {
        return invalid(
            "predicate",
            "it does not print back as the same expression (a literal kind whose quotes are \
             not escaped, such as N'...' with a quote in it): write it with plain '...' strings",
        );
    }
    Ok(printed)
}

fn parse_one_expression(text: &str) -> Result<Expr> {
    let dialect = GenericDialect {};
    let mut parser = match Parser::new(&dialect).try_with_sql(text) {
        Ok(parser) => parser,
        Err(error) => return invalid("predicate", error.to_string()),
    };
    let expression = match parser.parse_expr() {
        Ok(expression) => expression,
        Err(error) => return invalid("predicate", error.to_string()),
    };
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return invalid(
            "predicate",
            format!("one expression expected, found more at {}", next.token),
        );
    }
    Ok(expression)
}

/// Whether `text` holds a comment token (which, inside a larger statement, would hide what
/// follows the predicate).
fn has_comment(text: &str) -> bool {
    Tokenizer::new(&GenericDialect {}, text)
        .tokenize()
        .map_or(true, |tokens| {
            tokens.iter().any(|token| {
                matches!(
                    token,
                    Token::Whitespace(
                        Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)
                    )
                )
            })
        })
}

fn parse_instant(parameter: &'static str, text: &str) -> Result<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = day.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc());
    }
    invalid(
        parameter,
        format!("{text:?} is neither YYYY-MM-DD nor an RFC 3339 timestamp"),
    )
}

fn timestamp_literal(instant: DateTime<Utc>) -> String {
    format!(
        "TIMESTAMP '{}'",
        instant.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes() {
        let segment = Segment {
            device: Some("mobile".into()),
            ..Segment::default()
        };
        let sql = segment.where_sql("o'hara.example", Some("a'b")).unwrap();
        assert_eq!(
            sql,
            "site = 'o''hara.example' AND path = 'a''b' AND device = 'mobile'"
        );
    }

    #[test]
    fn predicate_is_one_expression() {
        assert_eq!(
            parse_predicate("x>  10 AND y<5").unwrap(),
            "x > 10 AND y < 5"
        );
        for bad in [
            "x > 1) OR (1 = 1",
            "x > 1; DROP TABLE events",
            "1 = 1 UNION SELECT 1",
            "",
            "x >",
        ] {
            let error = parse_predicate(bad).unwrap_err().to_string();
            assert!(error.contains("predicate"), "{bad}: {error}");
        }
    }

    /// The predicate as the questions place it, `(<predicate>) AND marker = 1`, must parse
    /// back as exactly that: the predicate's own tree, then the question's condition.
    fn stays_in_its_parentheses(original: &str, printed: &str) {
        let sql = format!("SELECT 1 FROM events WHERE ({printed}) AND marker = 1");
        let statements = Parser::parse_sql(&GenericDialect {}, &sql).unwrap();
        let where_clause = match &statements[..] {
            [datafusion::sql::sqlparser::ast::Statement::Query(query)] => match &*query.body {
                datafusion::sql::sqlparser::ast::SetExpr::Select(select) => {
                    select.selection.clone().unwrap()
                }
                other => panic!("{other}"),
            },
            other => panic!("{other:?}"),
        };
        let expected = Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(
                parse_one_expression(original).unwrap(),
            ))),
            op: datafusion::sql::sqlparser::ast::BinaryOperator::And,
            right: Box::new(parse_one_expression("marker = 1").unwrap()),
        };
        assert_eq!(where_clause, expected, "{original} printed as {printed}");
    }

    /// Regression: `N'...'` literals printed their content unescaped, so a quote in one ended
    /// the literal and the rest of the value became conditions of the question.
    #[test]
    fn a_predicate_never_leaves_its_parentheses() {
        let breakout = "path = N'a'') OR (site <> ''x'";
        let error = parse_predicate(breakout).unwrap_err().to_string();
        assert!(
            error.starts_with("invalid predicate: it does not print back"),
            "{error}"
        );
        let kinds = [
            "path = N'ab'",
            "path = N'a''b'",
            r"path = E'a\'b'",
            r"path = E'a\\'",
            r"path = E'\x27) OR (1=1'",
            "path = X'4142'",
            "path = X'41''42'",
            "path = $$a'b$$",
            "path = $t$a$$') OR (1=1$t$",
            r"path = U&'d\0061t\+000061'",
            "path = U&'a''b'",
            "path = 'a''b' -- c",
            "path = 'a' /* c */",
            "x = - -1",
            "path = B'01'",
            "path = R'a'",
            "path = \"a'b\"",
        ];
        for text in kinds {
            match parse_predicate(text) {
                Ok(printed) => stays_in_its_parentheses(text, &printed),
                Err(error) => assert!(error.to_string().contains("predicate"), "{text}: {error}"),
            }
        }
        assert_eq!(parse_predicate("path = N'ab'").unwrap(), "path = N'ab'");
        assert_eq!(parse_predicate("path = $$a'b$$").unwrap(), "path = $$a'b$$");
    }

    #[test]
    fn time_bounds_prune_dates() {
        let segment = Segment {
            from: Some("2026-11-01".into()),
            to: Some("2026-11-03T00:00:00Z".into()),
            ..Segment::default()
        };
        assert_eq!(
            segment.where_sql("s", None).unwrap(),
            "site = 's' AND date >= DATE '2026-11-01' AND ts >= TIMESTAMP '2026-11-01T00:00:00.000Z' \
             AND date <= DATE '2026-11-02' AND ts < TIMESTAMP '2026-11-03T00:00:00.000Z'"
        );
        let reversed = Segment {
            from: Some("2026-11-03".into()),
            to: Some("2026-11-01".into()),
            ..Segment::default()
        };
        assert!(
            reversed
                .where_sql("s", None)
                .unwrap_err()
                .to_string()
                .contains("to")
        );
        let bad = Segment {
            from: Some("yesterday".into()),
            ..Segment::default()
        };
        assert!(
            bad.where_sql("s", None)
                .unwrap_err()
                .to_string()
                .contains("from")
        );
    }
}
