//! SCIM filter expressions (RFC 7644 §3.4.2.2). Parsing is delegated to the `scim_v2` crate
//! (tested against the RFC examples and hostile input; it bounds nesting and term count);
//! this module adds the input-length cap and turns parse failures into `invalidFilter`.
//! Compiling filters to SQL is ours: see `scim::query`.

pub use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};

use crate::error::Error;

/// Longest filter accepted. Entra's longest are a few hundred characters.
pub const MAX_FILTER_LEN: usize = 8 * 1024;

pub fn parse(input: &str) -> Result<Filter, Error> {
    if input.len() > MAX_FILTER_LEN {
        return Err(Error::InvalidFilter(format!(
            "the filter is longer than {MAX_FILTER_LEN} characters"
        )));
    }
    let input = input.trim();
    input.parse::<Filter>().or_else(|err| {
        // Entra, matching on `emails[type eq "work"].value`, sends
        // `emails[type eq "work"].value eq "…"`, which RFC 7644's grammar lacks; it means
        // `emails[type eq "work" and value eq "…"]`.
        sub_attribute_after_value_path(input)
            .and_then(|rewritten| rewritten.parse::<Filter>().ok())
            .ok_or_else(|| Error::InvalidFilter(format!("invalid filter: {err}")))
    })
}

const OPERATORS: [&str; 10] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"];

/// Rewrites every `attr[filter].sub op value` into `attr[filter and sub op value]`, or
/// `None` when there is no such term.
fn sub_attribute_after_value_path(input: &str) -> Option<String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len() + 8);
    let mut rewrote = false;
    let mut i = 0;
    let mut in_string = false;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            in_string = c != '"';
            i += 1;
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c == ']' && chars.get(i + 1) == Some(&'.') {
            let sub_start = i + 2;
            let mut j = sub_start;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || chars[j] == '-')
            {
                j += 1;
            }
            let sub: String = chars[sub_start..j].iter().collect();
            let mut k = j;
            while k < chars.len() && chars[k] == ' ' {
                k += 1;
            }
            let op_end = (k + 2).min(chars.len());
            let op: String = chars[k..op_end]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            if sub.is_empty() || j == k || !OPERATORS.contains(&op.as_str()) {
                return None;
            }
            let mut end = op_end;
            if op != "pr" {
                while end < chars.len() && chars[end] == ' ' {
                    end += 1;
                }
                if chars.get(end) == Some(&'"') {
                    end += 1;
                    while end < chars.len() && chars[end] != '"' {
                        end += if chars[end] == '\\' { 2 } else { 1 };
                    }
                    end += 1;
                } else {
                    while end < chars.len() && !chars[end].is_whitespace() && chars[end] != ')' {
                        end += 1;
                    }
                }
            }
            let term: String = chars[sub_start..end.min(chars.len())].iter().collect();
            out.push_str(" and ");
            out.push_str(&term);
            out.push(']');
            rewrote = true;
            i = end;
            continue;
        }
        out.push(c);
        i += 1;
    }
    rewrote.then_some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every filter example of RFC 7644 §3.4.2.2.
    const RFC_EXAMPLES: &[&str] = &[
        r#"userName Eq "john""#,
        r#"Username eq "john""#,
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ];

    #[test]
    fn rfc_examples_parse_and_print_back() {
        for example in RFC_EXAMPLES {
            let parsed = parse(example).unwrap_or_else(|err| panic!("{example}: {err}"));
            assert_eq!(parse(&parsed.to_string()).unwrap(), parsed, "{example}");
        }
    }

    #[test]
    fn entra_filters() {
        for filter in [
            r#"userName eq "a2f9a8b2-9f1f-4c6e-8c2d-3c7a0e8e1b11""#,
            r#"externalId eq "0a1b2c3d""#,
            r#"displayName eq "Sales Team""#,
            r#"id eq "g1" and members eq "u1""#,
        ] {
            parse(filter).unwrap();
        }
    }

    #[test]
    fn entra_sub_attribute_after_a_value_path() {
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "a@b.c""#).unwrap(),
            parse(r#"emails[type eq "work" and value eq "a@b.c"]"#).unwrap()
        );
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "x]\".y" and userName eq "u""#).unwrap(),
            parse(r#"emails[type eq "work" and value eq "x]\".y"] and userName eq "u""#).unwrap()
        );
        assert!(parse(r#"emails[type eq "work"].value"#).is_err());
        assert!(parse(r#"emails[type eq "work"]. eq "x""#).is_err());
    }

    #[test]
    fn malformed_and_hostile_filters_are_invalid_filter() {
        let deep = format!(
            "{}userName eq \"x\"{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        let long = format!("userName eq \"{}\"", "x".repeat(MAX_FILTER_LEN));
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName xx \"a\"",
            "userName eq \"unterminated",
            "(userName eq \"a\"",
            "emails[type eq \"work\"",
            "and",
            deep.as_str(),
            long.as_str(),
        ] {
            assert!(
                matches!(parse(bad), Err(Error::InvalidFilter(_))),
                "{bad:.60}"
            );
        }
    }

    fn attr_name() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "userName",
            "displayName",
            "title",
            "externalId",
            "active",
        ])
        .prop_map(str::to_owned)
    }

    fn value() -> impl Strategy<Value = CompValue> {
        prop_oneof![
            any::<String>().prop_map(CompValue::Str),
            Just(CompValue::True),
            Just(CompValue::False),
            Just(CompValue::Null),
        ]
    }

    fn op() -> impl Strategy<Value = CompareOp> {
        prop::sample::select(vec![
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ])
    }

    fn leaf() -> impl Strategy<Value = Filter> {
        prop_oneof![
            (attr_name(), op(), value()).prop_map(|(name, op, value)| Filter::Attr(
                AttrExp::Comparison(AttrPath::with_name(name), op, value)
            )),
            attr_name().prop_map(|name| Filter::Attr(AttrExp::Present(AttrPath::with_name(name)))),
            (op(), any::<String>()).prop_map(|(op, value)| {
                Filter::ValuePath(scim_v2::filter::ValuePath {
                    attr: AttrPath::with_name("emails"),
                    filter: Box::new(ValFilter::Attr(AttrExp::Comparison(
                        AttrPath::with_name("value"),
                        op,
                        CompValue::Str(value),
                    ))),
                })
            }),
        ]
    }

    fn filter() -> impl Strategy<Value = Filter> {
        leaf().prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::and(a, b)),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::or(a, b)),
                inner.prop_map(|f| Filter::Not(Box::new(f))),
            ]
        })
    }

    proptest! {
        #[test]
        fn print_then_parse_is_identity(filter in filter()) {
            let printed = filter.to_string();
            prop_assert_eq!(parse(&printed).unwrap(), filter);
        }

        #[test]
        fn arbitrary_input_never_panics(input in ".{0,200}") {
            let _ = parse(&input);
        }
    }
}
