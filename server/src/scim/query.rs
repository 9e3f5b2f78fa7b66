//! Compiles a parsed SCIM filter into one SQL condition over `scim_user` or `scim_group`,
//! so a query never loads rows to evaluate them. Attribute names resolve through
//! `scim::schema` without regard to case; `caseExact=false` attributes compare lowered text
//! (against the indexed `*_lc` columns where there is one). Multi-valued attributes become
//! `EXISTS` sub-queries: `emails` and its kin over `scim_user_value`, `addresses` over the
//! JSON array, `groups`/`members` over `group_member`. Values are always bound, never
//! spliced into the SQL text.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseBackend, Value, sea_query::Expr};

use super::{
    filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter},
    schema::{self, AttrDef, AttrType},
};
use crate::error::Error;

/// Which resource a filter applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    User,
    Group,
}

pub use crate::store::resources::VALUE_TABLE_ATTRIBUTES;

/// A condition under construction: SQL text with the backend's placeholders, and the values
/// to bind to them in order.
#[derive(Debug, Default)]
struct Sql {
    text: String,
    values: Vec<Value>,
    /// `EXISTS` sub-queries so far.
    sub_queries: usize,
}

/// Most terms over multi-valued attributes (each an `EXISTS` sub-query) in one filter.
/// PostgreSQL plans them as semi-joins, and planning time grows steeply with their number
/// (over 20 users: 8 terms 45 ms, 16 terms 0.28 s, 32 terms 1.1 s, 200 terms 37 s); the
/// identity providers we know send one at most.
pub const MAX_MULTI_VALUED_TERMS: usize = 10;

/// What a comparison's left-hand side holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text; `lowered` when the column already holds the lower-cased value.
    Text {
        case_exact: bool,
        lowered: bool,
    },
    Bool,
    Date,
}

#[derive(Debug)]
struct Operand {
    sql: String,
    kind: Kind,
}

/// The element context of a value filter (`emails[…]`) or of a multi-valued attribute.
#[derive(Debug, Clone, Copy)]
enum Element {
    ValueRow(&'static AttrDef),
    JsonItem(&'static AttrDef),
    GroupOfUser,
    MemberOfGroup,
}

pub struct Compiler {
    backend: DatabaseBackend,
    kind: ResourceKind,
}

impl Compiler {
    pub fn new(backend: DatabaseBackend, kind: ResourceKind) -> Self {
        Self { backend, kind }
    }

    /// The filter as a condition usable in `WHERE`.
    pub fn compile(&self, filter: &Filter) -> Result<Expr, Error> {
        let mut sql = Sql::default();
        self.filter(filter, &mut sql)?;
        Ok(Expr::cust_with_values(sql.text, sql.values))
    }

    fn table(&self) -> &'static str {
        match self.kind {
            ResourceKind::User => "\"scim_user\"",
            ResourceKind::Group => "\"scim_group\"",
        }
    }

    fn placeholder(&self) -> &'static str {
        match self.backend {
            DatabaseBackend::Postgres => "$",
            _ => "?",
        }
    }

    fn bind(&self, sql: &mut Sql, value: Value) {
        sql.text.push_str(self.placeholder());
        sql.values.push(value);
    }

    fn filter(&self, filter: &Filter, sql: &mut Sql) -> Result<(), Error> {
        match filter {
            Filter::Attr(exp) => self.attr_exp(exp, sql),
            Filter::ValuePath(path) => {
                let element = self.element(&path.attr)?;
                self.exists(element, sql, |sql| {
                    self.val_filter(element, &path.filter, sql)
                })
            }
            Filter::Not(inner) => {
                sql.text.push_str("NOT (");
                self.filter(inner, sql)?;
                sql.text.push(')');
                Ok(())
            }
            Filter::And(operands) => {
                self.join(operands, " AND ", sql, |f, sql| self.filter(f, sql))
            }
            Filter::Or(operands) => self.join(operands, " OR ", sql, |f, sql| self.filter(f, sql)),
        }
    }

    fn val_filter(&self, element: Element, filter: &ValFilter, sql: &mut Sql) -> Result<(), Error> {
        match filter {
            ValFilter::Attr(exp) => {
                let (path, op, value) = split(exp);
                if path.uri.is_some() || path.sub_attr.is_some() {
                    return Err(unknown(path));
                }
                let operand = self.element_field(element, &path.name)?;
                self.compare(&operand, op, value, sql)
            }
            ValFilter::Not(inner) => {
                sql.text.push_str("NOT (");
                self.val_filter(element, inner, sql)?;
                sql.text.push(')');
                Ok(())
            }
            ValFilter::And(operands) => self.join(operands, " AND ", sql, |f, sql| {
                self.val_filter(element, f, sql)
            }),
            ValFilter::Or(operands) => self.join(operands, " OR ", sql, |f, sql| {
                self.val_filter(element, f, sql)
            }),
        }
    }

    fn join<T>(
        &self,
        operands: &[T],
        separator: &str,
        sql: &mut Sql,
        mut each: impl FnMut(&T, &mut Sql) -> Result<(), Error>,
    ) -> Result<(), Error> {
        sql.text.push('(');
        for (index, operand) in operands.iter().enumerate() {
            if index > 0 {
                sql.text.push_str(separator);
            }
            sql.text.push('(');
            each(operand, sql)?;
            sql.text.push(')');
        }
        sql.text.push(')');
        Ok(())
    }

    fn attr_exp(&self, exp: &AttrExp, sql: &mut Sql) -> Result<(), Error> {
        let (path, op, value) = split(exp);
        if self.schemas_filter(path, op, value, sql)? {
            return Ok(());
        }
        if let Some(element) = self.multi_valued(path) {
            let sub = path.sub_attr.as_deref().unwrap_or(element.default_field());
            let operand = self.element_field(element, sub)?;
            return match op {
                // "No value matches" reads better than "some value differs".
                Some(CompareOp::Ne) => {
                    sql.text.push_str("NOT ");
                    self.exists(element, sql, |sql| {
                        self.compare(&operand, Some(&CompareOp::Eq), value, sql)
                    })
                }
                _ => self.exists(element, sql, |sql| self.compare(&operand, op, value, sql)),
            };
        }
        let operand = self.single(path)?;
        self.compare(&operand, op, value, sql)
    }

    /// `schemas eq "<urn>"`: true for the core schema, and for the enterprise extension when
    /// the user carries it. Returns whether `path` was `schemas`.
    fn schemas_filter(
        &self,
        path: &AttrPath,
        op: Option<&CompareOp>,
        value: Option<&CompValue>,
        sql: &mut Sql,
    ) -> Result<bool, Error> {
        if !(path.uri.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("schemas"))
        {
            return Ok(false);
        }
        let (Some(CompareOp::Eq), Some(CompValue::Str(urn))) = (op, value) else {
            return Err(Error::InvalidFilter(
                "schemas supports only `eq \"<schema URI>\"`".to_owned(),
            ));
        };
        if urn.eq_ignore_ascii_case(self.core_schema()) {
            sql.text.push_str("1 = 1");
        } else if self.kind == ResourceKind::User
            && urn.eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA)
        {
            let key = self.json_path(&[schema::ENTERPRISE_USER_SCHEMA]);
            sql.text.push_str(&format!("{key} IS NOT NULL"));
        } else {
            sql.text.push_str("1 = 0");
        }
        Ok(true)
    }

    /// The element context when `path` names a multi-valued attribute.
    fn multi_valued(&self, path: &AttrPath) -> Option<Element> {
        if !self.is_core_uri(path) {
            return None;
        }
        match self.kind {
            ResourceKind::User => {
                let def = schema::USER
                    .attribute(&path.name)
                    .filter(|d| d.multi_valued)?;
                Some(if def.name == "groups" {
                    Element::GroupOfUser
                } else if VALUE_TABLE_ATTRIBUTES.contains(&def.name) {
                    Element::ValueRow(def)
                } else {
                    Element::JsonItem(def)
                })
            }
            ResourceKind::Group => path
                .name
                .eq_ignore_ascii_case("members")
                .then_some(Element::MemberOfGroup),
        }
    }

    fn element(&self, path: &AttrPath) -> Result<Element, Error> {
        if path.sub_attr.is_some() {
            return Err(unknown(path));
        }
        self.multi_valued(path).ok_or_else(|| {
            Error::InvalidFilter(format!(
                "{path} is not a multi-valued attribute, so it takes no [filter]"
            ))
        })
    }

    fn core_schema(&self) -> &'static str {
        match self.kind {
            ResourceKind::User => schema::USER_SCHEMA,
            ResourceKind::Group => schema::GROUP_SCHEMA,
        }
    }

    fn is_core_uri(&self, path: &AttrPath) -> bool {
        path.uri
            .as_deref()
            .is_none_or(|uri| uri.eq_ignore_ascii_case(self.core_schema()))
    }

    /// A single-valued attribute (possibly a sub-attribute of a complex one).
    fn single(&self, path: &AttrPath) -> Result<Operand, Error> {
        let table = self.table();
        let column = |name: &str, kind| Operand {
            sql: format!("{table}.\"{name}\""),
            kind,
        };
        let text = |case_exact, lowered| Kind::Text {
            case_exact,
            lowered,
        };
        let core = self.is_core_uri(path);
        let name = path.name.as_str();
        let sub = path.sub_attr.as_deref();
        let is = |expected: &str| name.eq_ignore_ascii_case(expected);
        if core {
            match sub {
                None if is("id") => return Ok(column("id", text(true, false))),
                None if is("externalId") => return Ok(column("external_id", text(true, false))),
                Some(s) if is("meta") && s.eq_ignore_ascii_case("created") => {
                    return Ok(column("created_at", Kind::Date));
                }
                Some(s) if is("meta") && s.eq_ignore_ascii_case("lastModified") => {
                    return Ok(column("last_modified", Kind::Date));
                }
                _ => {}
            }
        }
        match self.kind {
            ResourceKind::Group => match (core, sub) {
                (true, None) if is("displayName") => {
                    Ok(column("display_name_lc", text(false, true)))
                }
                _ => Err(unknown(path)),
            },
            ResourceKind::User if core => match sub {
                None if is("userName") => Ok(column("user_name_lc", text(false, true))),
                None if is("displayName") => Ok(column("display_name_lc", text(false, true))),
                None if is("active") => Ok(column("active", Kind::Bool)),
                _ => self.json_attribute(&schema::USER, None, path),
            },
            ResourceKind::User => {
                let uri = path.uri.as_deref().unwrap_or_default();
                if uri.eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA) {
                    self.json_attribute(
                        &schema::ENTERPRISE_USER,
                        Some(schema::ENTERPRISE_USER_SCHEMA),
                        path,
                    )
                } else {
                    Err(unknown(path))
                }
            }
        }
    }

    /// An attribute read out of the user's JSON document.
    fn json_attribute(
        &self,
        schema: &schema::SchemaDef,
        extension: Option<&'static str>,
        path: &AttrPath,
    ) -> Result<Operand, Error> {
        let def = schema.attribute(&path.name).ok_or_else(|| unknown(path))?;
        if def.multi_valued {
            return Err(unknown(path));
        }
        let mut keys: Vec<&str> = extension.into_iter().collect();
        keys.push(def.name);
        let leaf = match (def.ty, path.sub_attr.as_deref()) {
            (AttrType::Complex, Some(sub)) => {
                let sub = def.sub(sub).ok_or_else(|| unknown(path))?;
                keys.push(sub.name);
                sub
            }
            (AttrType::Complex, None) => return Err(unknown(path)),
            (_, Some(_)) => return Err(unknown(path)),
            (_, None) => def,
        };
        Ok(Operand {
            sql: self.json_path(&keys),
            kind: kind_of(leaf),
        })
    }

    /// SQL reading the text at `keys` in the user's `data`, or NULL.
    fn json_path(&self, keys: &[&str]) -> String {
        json_text(self.backend, &format!("{}.\"data\"", self.table()), keys)
    }

    /// The operand for sub-attribute `name` of an element.
    fn element_field(&self, element: Element, name: &str) -> Result<Operand, Error> {
        let text = |case_exact, lowered| Kind::Text {
            case_exact,
            lowered,
        };
        let unknown_sub = || Error::InvalidFilter(format!("unknown sub-attribute {name:?}"));
        match element {
            Element::ValueRow(def) => {
                let sub = def.sub(name).ok_or_else(unknown_sub)?;
                let (column, kind) = match sub.name {
                    "value" => ("value_lc", text(false, true)),
                    "type" => ("type_lc", text(false, true)),
                    "display" => ("display", text(false, false)),
                    _ => ("is_primary", Kind::Bool),
                };
                Ok(Operand {
                    sql: format!("v.\"{column}\""),
                    kind,
                })
            }
            Element::JsonItem(def) => {
                let sub = def.sub(name).ok_or_else(unknown_sub)?;
                Ok(Operand {
                    sql: json_text(self.backend, "e.value", &[sub.name]),
                    kind: kind_of(sub),
                })
            }
            Element::GroupOfUser => match name.to_ascii_lowercase().as_str() {
                "value" => Ok(Operand {
                    sql: "gm.\"group_id\"".to_owned(),
                    kind: text(true, false),
                }),
                "display" => Ok(Operand {
                    sql: "g.\"display_name_lc\"".to_owned(),
                    kind: text(false, true),
                }),
                _ => Err(unknown_sub()),
            },
            Element::MemberOfGroup => match name.to_ascii_lowercase().as_str() {
                "value" => Ok(Operand {
                    sql: "gm.\"user_id\"".to_owned(),
                    kind: text(true, false),
                }),
                _ => Err(unknown_sub()),
            },
        }
    }

    /// `EXISTS (…)` over the elements, with `inner` as the per-element condition.
    fn exists(
        &self,
        element: Element,
        sql: &mut Sql,
        inner: impl FnOnce(&mut Sql) -> Result<(), Error>,
    ) -> Result<(), Error> {
        sql.sub_queries += 1;
        if sql.sub_queries > MAX_MULTI_VALUED_TERMS {
            return Err(Error::InvalidFilter(format!(
                "a filter may test multi-valued attributes (emails, members, …) at most {MAX_MULTI_VALUED_TERMS} times"
            )));
        }
        let table = self.table();
        match element {
            Element::ValueRow(def) => {
                sql.text.push_str(&format!(
                    "EXISTS (SELECT 1 FROM \"scim_user_value\" v WHERE v.\"user_id\" = {table}.\"id\" AND v.\"attribute\" = "
                ));
                self.bind(sql, def.name.into());
            }
            Element::JsonItem(def) => {
                let source = match self.backend {
                    DatabaseBackend::Postgres => format!(
                        "jsonb_array_elements(COALESCE(({table}.\"data\"::jsonb) -> '{}', '[]'::jsonb)) e",
                        def.name
                    ),
                    _ => format!("json_each({table}.\"data\", '$.{}') e", def.name),
                };
                sql.text.push_str(&format!("EXISTS (SELECT 1 FROM {source} WHERE 1 = 1"));
            }
            Element::GroupOfUser => sql.text.push_str(&format!(
                "EXISTS (SELECT 1 FROM \"group_member\" gm JOIN \"scim_group\" g ON g.\"id\" = gm.\"group_id\" WHERE gm.\"user_id\" = {table}.\"id\""
            )),
            Element::MemberOfGroup => sql.text.push_str(&format!(
                "EXISTS (SELECT 1 FROM \"group_member\" gm WHERE gm.\"group_id\" = {table}.\"id\""
            )),
        }
        sql.text.push_str(" AND (");
        inner(sql)?;
        sql.text.push_str("))");
        Ok(())
    }

    fn compare(
        &self,
        operand: &Operand,
        op: Option<&CompareOp>,
        value: Option<&CompValue>,
        sql: &mut Sql,
    ) -> Result<(), Error> {
        let lhs = &operand.sql;
        let Some(op) = op else {
            let empty = match operand.kind {
                Kind::Text { .. } => format!(" AND {lhs} <> ''"),
                _ => String::new(),
            };
            sql.text.push_str(&format!("({lhs} IS NOT NULL{empty})"));
            return Ok(());
        };
        let value = value.unwrap_or(&CompValue::Null);
        if matches!(value, CompValue::Null) {
            let test = match op {
                CompareOp::Eq => "IS NULL",
                CompareOp::Ne => "IS NOT NULL",
                _ => {
                    return Err(Error::InvalidFilter(format!(
                        "{op} cannot compare with null"
                    )));
                }
            };
            sql.text.push_str(&format!("{lhs} {test}"));
            return Ok(());
        }
        match operand.kind {
            Kind::Bool => {
                let wanted = match value {
                    CompValue::True => true,
                    CompValue::False => false,
                    CompValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
                    CompValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
                    _ => {
                        return Err(Error::InvalidFilter(
                            "a boolean attribute compares with true or false".to_owned(),
                        ));
                    }
                };
                let sql_op = match op {
                    CompareOp::Eq => "=",
                    CompareOp::Ne => "<>",
                    _ => {
                        return Err(Error::InvalidFilter(format!(
                            "{op} does not apply to a boolean attribute"
                        )));
                    }
                };
                sql.text.push_str(&format!("{lhs} {sql_op} "));
                self.bind(sql, wanted.into());
                Ok(())
            }
            Kind::Date => {
                let CompValue::Str(text) = value else {
                    return Err(Error::InvalidFilter(
                        "a dateTime attribute compares with a string".to_owned(),
                    ));
                };
                let at: DateTime<Utc> = DateTime::parse_from_rfc3339(text)
                    .map_err(|_| {
                        Error::InvalidFilter(format!("{text:?} is not an RFC 3339 date-time"))
                    })?
                    .with_timezone(&Utc);
                let sql_op = ordering_op(op).ok_or_else(|| {
                    Error::InvalidFilter(format!("{op} does not apply to a dateTime attribute"))
                })?;
                sql.text.push_str(&format!("{lhs} {sql_op} "));
                self.bind(sql, at.into());
                Ok(())
            }
            Kind::Text {
                case_exact,
                lowered,
            } => {
                let CompValue::Str(text) = value else {
                    return Err(Error::InvalidFilter(
                        "a string attribute compares with a string".to_owned(),
                    ));
                };
                let (lhs, text) = if case_exact {
                    (lhs.clone(), text.clone())
                } else if lowered {
                    (lhs.clone(), text.to_lowercase())
                } else {
                    (format!("lower({lhs})"), self.sql_lower(text))
                };
                match op {
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew if case_exact => {
                        self.case_exact_match(&lhs, op, text, sql)
                    }
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                        let escaped = escape_like(&text);
                        let pattern = match op {
                            CompareOp::Co => format!("%{escaped}%"),
                            CompareOp::Sw => format!("{escaped}%"),
                            _ => format!("%{escaped}"),
                        };
                        sql.text.push_str(&format!("{lhs} LIKE "));
                        self.bind(sql, pattern.into());
                        sql.text.push_str(" ESCAPE '\\'");
                    }
                    CompareOp::Ne => {
                        sql.text.push_str(&format!("({lhs} IS NULL OR {lhs} <> "));
                        self.bind(sql, text.into());
                        sql.text.push(')');
                    }
                    _ => {
                        let sql_op = ordering_op(op).unwrap_or("=");
                        sql.text.push_str(&format!("{lhs} {sql_op} "));
                        self.bind(sql, text.into());
                    }
                }
                Ok(())
            }
        }
    }

    /// Substring tests that respect case; `LIKE` ignores ASCII case on SQLite.
    fn case_exact_match(&self, lhs: &str, op: &CompareOp, text: String, sql: &mut Sql) {
        let find = match self.backend {
            DatabaseBackend::Postgres => "strpos",
            _ => "instr",
        };
        match op {
            CompareOp::Co => {
                sql.text.push_str(&format!("{find}({lhs}, "));
                self.bind(sql, text.into());
                sql.text.push_str(") > 0");
            }
            CompareOp::Sw => {
                sql.text.push_str(&format!("{find}({lhs}, "));
                self.bind(sql, text.into());
                sql.text.push_str(") = 1");
            }
            _ => {
                // i32: PostgreSQL has no substr(text, bigint).
                let length = i32::try_from(text.chars().count()).unwrap_or(i32::MAX);
                sql.text.push_str(&format!("(length({lhs}) >= "));
                self.bind(sql, length.into());
                sql.text
                    .push_str(&format!(" AND substr({lhs}, length({lhs}) - "));
                self.bind(sql, (length - 1).into());
                sql.text.push_str(") = ");
                self.bind(sql, text.into());
                sql.text.push(')');
            }
        }
    }

    /// The value lowered the way the database's `lower()` lowers (SQLite: ASCII only).
    fn sql_lower(&self, text: &str) -> String {
        match self.backend {
            DatabaseBackend::Postgres => text.to_lowercase(),
            _ => text.to_ascii_lowercase(),
        }
    }
}

impl Element {
    /// The sub-attribute a filter on the bare attribute means (`emails co "x"` is
    /// `emails.value co "x"`).
    fn default_field(self) -> &'static str {
        match self {
            Element::JsonItem(def) if def.sub("value").is_none() => "formatted",
            _ => "value",
        }
    }
}

fn kind_of(def: &AttrDef) -> Kind {
    match def.ty {
        AttrType::Boolean => Kind::Bool,
        AttrType::DateTime => Kind::Date,
        _ => Kind::Text {
            case_exact: def.case_exact,
            lowered: false,
        },
    }
}

/// SQL reading the text at `keys` inside the JSON document `column`, NULL when absent.
pub fn json_text(backend: DatabaseBackend, column: &str, keys: &[&str]) -> String {
    match backend {
        DatabaseBackend::Postgres => {
            let path: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
            format!("(({column})::jsonb #>> '{{{}}}')", path.join(","))
        }
        _ => {
            let path: String = keys.iter().map(|k| format!(".\"{k}\"")).collect();
            format!("json_extract({column}, '${path}')")
        }
    }
}

fn split(exp: &AttrExp) -> (&AttrPath, Option<&CompareOp>, Option<&CompValue>) {
    match exp {
        AttrExp::Present(path) => (path, None, None),
        AttrExp::Comparison(path, op, value) => (path, Some(op), Some(value)),
    }
}

fn ordering_op(op: &CompareOp) -> Option<&'static str> {
    match op {
        CompareOp::Eq => Some("="),
        CompareOp::Ne => Some("<>"),
        CompareOp::Gt => Some(">"),
        CompareOp::Ge => Some(">="),
        CompareOp::Lt => Some("<"),
        CompareOp::Le => Some("<="),
        _ => None,
    }
}

/// `text` with the LIKE wildcards (and the escape character) escaped by `\`.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn unknown(path: &AttrPath) -> Error {
    Error::InvalidFilter(format!("cannot filter on unknown attribute {path}"))
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{Query, SqliteQueryBuilder};

    use super::*;
    use crate::scim::filter::parse;

    fn sql(kind: ResourceKind, filter: &str) -> Result<String, Error> {
        let condition = Compiler::new(DatabaseBackend::Sqlite, kind).compile(&parse(filter)?)?;
        Ok(Query::select()
            .expr(Expr::cust("1"))
            .and_where(condition)
            .to_string(SqliteQueryBuilder))
    }

    #[test]
    fn indexed_columns_are_used_with_lowered_values() {
        let text = sql(ResourceKind::User, r#"UserName EQ "BJensen""#).unwrap();
        assert!(
            text.contains(r#""scim_user"."user_name_lc" = 'bjensen'"#),
            "{text}"
        );
        let text = sql(ResourceKind::User, r#"externalId eq "AbC""#).unwrap();
        assert!(
            text.contains(r#""scim_user"."external_id" = 'AbC'"#),
            "caseExact: {text}"
        );
        let text = sql(ResourceKind::Group, r#"displayName eq "Sales Team""#).unwrap();
        assert!(
            text.contains(r#""scim_group"."display_name_lc" = 'sales team'"#),
            "{text}"
        );
    }

    #[test]
    fn like_patterns_are_escaped() {
        let text = sql(ResourceKind::User, r#"userName co "50%_off""#).unwrap();
        assert!(text.contains(r"LIKE '%50\%\_off%' ESCAPE '\'"), "{text}");
    }

    #[test]
    fn value_paths_become_exists() {
        let text = sql(
            ResourceKind::User,
            r#"emails[type eq "work" and value co "@x.com"]"#,
        )
        .unwrap();
        assert!(
            text.contains(r#"EXISTS (SELECT 1 FROM "scim_user_value" v"#),
            "{text}"
        );
        assert!(text.contains(r#"v."type_lc" = 'work'"#), "{text}");
        let text = sql(ResourceKind::Group, r#"id eq "g" and members eq "u""#).unwrap();
        assert!(text.contains(r#"gm."user_id" = 'u'"#), "{text}");
    }

    #[test]
    fn multi_valued_terms_are_bounded() {
        let terms = |n: usize| vec![r#"emails[value co "x" or type eq "y"]"#; n].join(" and ");
        assert!(sql(ResourceKind::User, &terms(MAX_MULTI_VALUED_TERMS)).is_ok());
        for filter in [
            terms(MAX_MULTI_VALUED_TERMS + 1),
            terms(200),
            [r#"members eq "u""#; MAX_MULTI_VALUED_TERMS + 1].join(" or "),
        ] {
            let kind = if filter.starts_with("members") {
                ResourceKind::Group
            } else {
                ResourceKind::User
            };
            assert!(
                matches!(sql(kind, &filter), Err(Error::InvalidFilter(message)) if message.contains("at most 10")),
                "{filter}"
            );
        }
    }

    #[test]
    fn unknown_attributes_and_type_mismatches_are_invalid_filter() {
        for (kind, filter) in [
            (ResourceKind::User, r#"password eq "x""#),
            (ResourceKind::User, r#"name eq "x""#),
            (ResourceKind::User, r#"userName.x eq "x""#),
            (ResourceKind::User, "active gt true"),
            (ResourceKind::User, r#"meta.created gt "yesterday""#),
            (ResourceKind::User, r#"emails[nope eq "x"]"#),
            (ResourceKind::User, r#"userName[value eq "x"]"#),
            (
                ResourceKind::User,
                r#"urn:example:custom:2.0:User:x eq "y""#,
            ),
            (ResourceKind::Group, r#"userName eq "x""#),
            (ResourceKind::Group, r#"members.nope eq "x""#),
        ] {
            assert!(
                matches!(sql(kind, filter), Err(Error::InvalidFilter(_))),
                "{filter}"
            );
        }
    }

    /// Pieces of filters, valid and not, so that random sequences of them reach deep into
    /// the parser and the compiler (random text alone rarely gets past the first token).
    fn token() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let fixed = prop::sample::select(vec![
            "userName",
            "UserName",
            "emails",
            "emails.value",
            "emails.type",
            "emails[",
            "]",
            "name.familyName",
            "name",
            "members",
            "members.value",
            "groups",
            "groups.value",
            "meta.lastModified",
            "meta.created",
            "meta.resourceType",
            "id",
            "externalId",
            "displayName",
            "active",
            "title",
            "phoneNumbers.value",
            "addresses.locality",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "eq",
            "ne",
            "co",
            "sw",
            "ew",
            "gt",
            "ge",
            "lt",
            "le",
            "pr",
            "EQ",
            "and",
            "or",
            "not",
            "(",
            ")",
            "[",
            "\"x\"",
            "\"\"",
            "true",
            "false",
            "null",
            "12",
            "-1",
            "1.5e3",
            "\"2011-05-13T04:42:34Z\"",
            "\"%_\\\\\"",
            "\"\\u0000\"",
            "\"",
            ".",
            ":",
            "\u{1F600}",
            "\"\u{e9}\"",
        ])
        .prop_map(str::to_owned);
        prop_oneof![4 => fixed, 1 => "[a-z\\[\\]().\" ]{0,6}"]
    }

    proptest::proptest! {
        /// Whatever a client sends as a filter is parsed and compiled for both databases
        /// and both resources without a panic (errors are fine). `PROPTEST_CASES` makes it
        /// a long fuzzing run.
        #[test]
        fn any_filter_compiles_or_fails_cleanly(
            tokens in proptest::collection::vec(token(), 0..40),
            glue in proptest::sample::select(vec![" ", "", "  "]),
        ) {
            let text = tokens.join(glue);
            if let Ok(filter) = parse(&text) {
                for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
                    for kind in [ResourceKind::User, ResourceKind::Group] {
                        let _ = Compiler::new(backend, kind).compile(&filter);
                    }
                }
            }
        }
    }
}
