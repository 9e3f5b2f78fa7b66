//! The PATCH engine (RFC 7644 §3.5.2) with Entra's dialect: op names in any case, boolean
//! strings, path-less operations whose object keys are themselves paths, value filters in
//! paths, `Replace` on `emails[type eq "work"].value` creating the value when none matches,
//! and member removal both as a value list and as `members[value eq "…"]`.
//!
//! User operations run on the user's attribute document in memory and the result is
//! normalised (types checked) before anything is written, so a failing operation leaves
//! the user untouched. Group operations become a `GroupChange` that the store applies to
//! membership rows in one transaction.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{
    filter::{AttrExp, AttrPath, CompValue, CompareOp, ValFilter},
    resource::{self, member_ids},
    schema::{self, AttrDef, AttrType, Mutability, SchemaDef},
};
use crate::{error::Error, store::groups::GroupChange};

pub use scim_v2::filter::PatchPath;

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone)]
pub struct PatchOp {
    pub kind: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Reads a `PatchOp` request body.
pub fn parse_request(body: &Value) -> Result<Vec<PatchOp>, Error> {
    let object = body
        .as_object()
        .ok_or_else(|| Error::InvalidSyntax("a PATCH body must be a JSON object".to_owned()))?;
    let operations = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .map(|(_, v)| v)
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Error::InvalidSyntax("a PATCH body needs an \"Operations\" array".to_owned())
        })?;
    if operations.is_empty() {
        return Err(Error::InvalidSyntax(
            "a PATCH body needs at least one operation in \"Operations\"".to_owned(),
        ));
    }
    if operations.len() > MAX_OPERATIONS {
        return Err(Error::Invalid(format!(
            "at most {MAX_OPERATIONS} operations per PATCH"
        )));
    }
    operations.iter().map(parse_op).collect()
}

/// Drops what names the resource's own `id` without changing it: Okta's group push renames
/// a group with a path-less replace of `{"id": <its id>, "displayName": …}`, also after
/// every membership update. Any other `id` stays a `mutability` error.
pub fn without_own_id(ops: Vec<PatchOp>, own: &str) -> Result<Vec<PatchOp>, Error> {
    let changes_id = || Error::Mutability("id cannot be changed".to_owned());
    let keeps_id = |kind: OpKind, value: Option<&Value>| {
        kind != OpKind::Remove && value.and_then(Value::as_str) == Some(own)
    };
    let mut kept = Vec::with_capacity(ops.len());
    for mut op in ops {
        match (&op.path, &mut op.value) {
            (None, Some(Value::Object(fields))) => {
                let keys: Vec<String> = fields
                    .keys()
                    .filter(|key| key.eq_ignore_ascii_case("id"))
                    .cloned()
                    .collect();
                for key in keys {
                    if !keeps_id(op.kind, fields.get(&key)) {
                        return Err(changes_id());
                    }
                    fields.remove(&key);
                }
            }
            (Some(PatchPath::Attr(path)), value) if names_core_id(path) => {
                if keeps_id(op.kind, value.as_ref()) {
                    continue;
                }
                return Err(changes_id());
            }
            _ => {}
        }
        kept.push(op);
    }
    Ok(kept)
}

fn names_core_id(path: &AttrPath) -> bool {
    path.name.eq_ignore_ascii_case("id")
        && path.sub_attr.is_none()
        && path.uri.as_deref().is_none_or(|uri| {
            uri.eq_ignore_ascii_case(schema::USER_SCHEMA)
                || uri.eq_ignore_ascii_case(schema::GROUP_SCHEMA)
        })
}

fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn parse_op(op: &Value) -> Result<PatchOp, Error> {
    let object = op
        .as_object()
        .ok_or_else(|| Error::InvalidSyntax("every operation must be a JSON object".to_owned()))?;
    let kind = match field(object, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => OpKind::Add,
        Some("remove") => OpKind::Remove,
        Some("replace") => OpKind::Replace,
        other => {
            return Err(Error::InvalidSyntax(format!(
                "op must be add, remove or replace, not {}",
                other.unwrap_or("missing")
            )));
        }
    };
    let path = match field(object, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) if path.trim().is_empty() => None,
        Some(Value::String(path)) => Some(parse_path(path)?),
        Some(_) => return Err(Error::InvalidPath("path must be a string".to_owned())),
    };
    let value = field(object, "value").cloned();
    if kind != OpKind::Remove && value.is_none() {
        return Err(Error::Invalid(format!("{kind:?} needs a value")));
    }
    if kind == OpKind::Remove && path.is_none() {
        return Err(Error::NoTarget("remove needs a path".to_owned()));
    }
    Ok(PatchOp { kind, path, value })
}

pub fn parse_path(path: &str) -> Result<PatchPath, Error> {
    path.parse::<PatchPath>()
        .map_err(|err| Error::InvalidPath(format!("invalid path {path:?}: {err}")))
}

// ---------------------------------------------------------------- users

/// Where an attribute path points in a user's document.
struct Target {
    /// `None` for core attributes, the extension URI otherwise.
    extension: Option<&'static str>,
    def: &'static AttrDef,
    sub: Option<&'static AttrDef>,
}

/// Resolves an attribute path against the User schemas; `None` for attributes we do not
/// know (ignored, never an error).
fn resolve(path: &AttrPath) -> Result<Option<Target>, Error> {
    let (schema, extension): (&SchemaDef, Option<&'static str>) = match path.uri.as_deref() {
        None => (&schema::USER, None),
        Some(uri) if uri.eq_ignore_ascii_case(schema::USER_SCHEMA) => (&schema::USER, None),
        Some(uri) if uri.eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA) => (
            &schema::ENTERPRISE_USER,
            Some(schema::ENTERPRISE_USER_SCHEMA),
        ),
        Some(_) => return Ok(None),
    };
    if extension.is_none() {
        for read_only in ["id", "meta", "schemas", "groups"] {
            if path.name.eq_ignore_ascii_case(read_only) {
                return Err(Error::Mutability(format!("{read_only} cannot be changed")));
            }
        }
        if path.name.eq_ignore_ascii_case("externalId") {
            return Ok(Some(Target {
                extension: None,
                def: &schema::EXTERNAL_ID,
                sub: None,
            }));
        }
    }
    let Some(def) = schema.attribute(&path.name) else {
        return Ok(None);
    };
    let sub = match path.sub_attr.as_deref() {
        None => None,
        Some(name) => match def.sub(name) {
            Some(sub) => Some(sub),
            None => return Ok(None),
        },
    };
    if def.mutability == Mutability::ReadOnly
        || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
    {
        return Err(Error::Mutability(format!("{path} is read-only")));
    }
    Ok(Some(Target {
        extension,
        def,
        sub,
    }))
}

fn container<'a>(
    doc: &'a mut Map<String, Value>,
    extension: Option<&str>,
) -> &'a mut Map<String, Value> {
    match extension {
        None => doc,
        Some(uri) => {
            let slot = doc
                .entry(uri.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            match slot {
                Value::Object(map) => map,
                _ => unreachable!("just made an object"),
            }
        }
    }
}

/// Applies `ops` to a user's attributes and returns the normalised result.
pub fn apply_to_user(
    attrs: &Map<String, Value>,
    ops: &[PatchOp],
) -> Result<Map<String, Value>, Error> {
    let mut doc = attrs.clone();
    for op in ops {
        // Merging values costs with the values already held: bound both before any merge.
        if let Some(value) = &op.value {
            bounded(value)?;
        }
        match &op.path {
            None => apply_pathless(&mut doc, op)?,
            Some(path) => apply_path(&mut doc, op.kind, path, op.value.as_ref())?,
        }
        doc.values().try_for_each(bounded)?;
    }
    // Drop extension objects emptied by removals, then re-check every type.
    if doc
        .get(schema::ENTERPRISE_USER_SCHEMA)
        .is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
    {
        doc.remove(schema::ENTERPRISE_USER_SCHEMA);
    }
    resource::normalize_user(&Value::Object(doc))
}

/// Refuses a value that holds an array longer than a User's multi-valued attribute may be
/// ([`resource::MAX_VALUES`]), at any depth.
fn bounded(value: &Value) -> Result<(), Error> {
    match value {
        Value::Array(items) if items.len() > resource::MAX_VALUES => Err(Error::Invalid(format!(
            "an attribute may hold at most {} values",
            resource::MAX_VALUES
        ))),
        Value::Array(items) => items.iter().try_for_each(bounded),
        Value::Object(fields) => fields.values().try_for_each(bounded),
        _ => Ok(()),
    }
}

/// A path-less add or replace: each key of the object value is an attribute path (Entra
/// sends `"name.givenName"` and `"emails[type eq \"work\"].value"` as keys).
fn apply_pathless(doc: &mut Map<String, Value>, op: &PatchOp) -> Result<(), Error> {
    let Some(Value::Object(fields)) = &op.value else {
        return Err(Error::Invalid(
            "an operation without a path needs an object value".to_owned(),
        ));
    };
    for (key, value) in fields {
        if key.eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA) {
            if let Value::Object(extension) = value {
                for (sub_key, sub_value) in extension {
                    let path =
                        parse_path(&format!("{}:{sub_key}", schema::ENTERPRISE_USER_SCHEMA))?;
                    apply_path(doc, op.kind, &path, Some(sub_value))?;
                }
            }
            continue;
        }
        if ["schemas", "id", "meta"]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k))
        {
            continue;
        }
        match parse_path(key) {
            Ok(path) => apply_path(doc, op.kind, &path, Some(value))?,
            // A key that is no path we know names no attribute we keep.
            Err(_) => continue,
        }
    }
    Ok(())
}

/// Whether `path` names the enterprise extension as a whole (it parses as attribute `User`
/// of schema `…:enterprise:2.0`).
fn is_enterprise_extension(path: &AttrPath) -> bool {
    path.sub_attr.is_none()
        && path.uri.as_deref().is_some_and(|uri| {
            format!("{uri}:{}", path.name).eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA)
        })
}

fn apply_path(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), Error> {
    match path {
        PatchPath::Attr(attr) if is_enterprise_extension(attr) => {
            let key = schema::ENTERPRISE_USER_SCHEMA;
            match (kind, value) {
                (OpKind::Remove, _) | (_, None | Some(Value::Null)) => {
                    doc.remove(key);
                }
                (OpKind::Add, Some(Value::Object(fields))) => {
                    let extension = container(doc, Some(key));
                    for (field, value) in fields {
                        extension.insert(field.clone(), value.clone());
                    }
                }
                (OpKind::Replace, Some(object @ Value::Object(_))) => {
                    doc.insert(key.to_owned(), object.clone());
                }
                _ => return Err(Error::Invalid(format!("{key} takes an object"))),
            }
            Ok(())
        }
        PatchPath::Attr(attr) => {
            let Some(target) = resolve(attr)? else {
                return Ok(());
            };
            apply_attr(doc, kind, &target, value)
        }
        PatchPath::Value(value_path) => {
            let attr = AttrPath {
                uri: value_path.attr.uri.clone(),
                name: value_path.attr.name.clone(),
                sub_attr: None,
            };
            let Some(target) = resolve(&attr)? else {
                return Ok(());
            };
            if !target.def.multi_valued {
                return Err(Error::InvalidPath(format!(
                    "{} is not multi-valued",
                    target.def.name
                )));
            }
            let sub = match value_path.sub_attr.as_deref() {
                None => None,
                Some(name) => Some(target.def.sub(name).ok_or_else(|| {
                    Error::InvalidPath(format!("{} has no sub-attribute {name:?}", target.def.name))
                })?),
            };
            apply_filtered(doc, kind, &target, &value_path.filter, sub, value)
        }
    }
}

fn apply_attr(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    target: &Target,
    value: Option<&Value>,
) -> Result<(), Error> {
    let map = container(doc, target.extension);
    let name = target.def.name;
    let value = value.cloned().unwrap_or(Value::Null);
    match (kind, target.def.multi_valued, target.sub) {
        (OpKind::Remove, _, None) => {
            if let (true, Some(Value::Array(listed)), Some(Value::Array(items))) =
                (target.def.multi_valued, Some(&value), map.get_mut(name))
            {
                // `{"op":"remove","path":"emails","value":[{"value":"x"}]}` removes just those.
                let drop: Vec<&Value> = listed.iter().filter_map(|v| v.get("value")).collect();
                items.retain(|item| !item.get("value").is_some_and(|v| drop.contains(&v)));
            } else {
                map.remove(name);
            }
        }
        (OpKind::Remove, false, Some(sub)) => {
            if let Some(Value::Object(object)) = map.get_mut(name) {
                object.remove(sub.name);
            }
        }
        (OpKind::Remove, true, Some(sub)) => {
            if let Some(Value::Array(items)) = map.get_mut(name) {
                items
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(|item| {
                        item.remove(sub.name);
                    });
            }
        }
        (_, false, None) if target.def.ty == AttrType::Complex && value.is_object() => {
            // Add and replace both merge sub-attributes into a complex attribute.
            let slot = map.entry(name.to_owned()).or_insert_with(|| json!({}));
            if !slot.is_object() {
                *slot = json!({});
            }
            if let (Some(object), Value::Object(fields)) = (slot.as_object_mut(), value) {
                for (key, field) in fields {
                    object.insert(canonical_sub(target.def, &key), field);
                }
            }
        }
        (_, false, None) => {
            map.insert(name.to_owned(), value);
        }
        (_, false, Some(sub)) => {
            let slot = map.entry(name.to_owned()).or_insert_with(|| json!({}));
            if !slot.is_object() {
                *slot = json!({});
            }
            if let Some(object) = slot.as_object_mut() {
                object.insert(sub.name.to_owned(), value);
            }
        }
        (OpKind::Add, true, None) => {
            let new_items = match value {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                single => vec![single],
            };
            let slot = map.entry(name.to_owned()).or_insert_with(|| json!([]));
            if !slot.is_array() {
                *slot = json!([]);
            }
            if let Some(items) = slot.as_array_mut() {
                for item in new_items {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
            }
        }
        (OpKind::Replace, true, None) => {
            map.insert(name.to_owned(), value);
        }
        (_, true, Some(sub)) => {
            let slot = map.entry(name.to_owned()).or_insert_with(|| json!([]));
            match slot.as_array_mut() {
                Some(items) if !items.is_empty() => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        item.insert(sub.name.to_owned(), value.clone());
                    }
                }
                _ => *slot = json!([{ sub.name: value }]),
            }
        }
    }
    Ok(())
}

fn canonical_sub(def: &AttrDef, key: &str) -> String {
    def.sub(key)
        .map_or_else(|| key.to_owned(), |sub| sub.name.to_owned())
}

fn apply_filtered(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    target: &Target,
    filter: &ValFilter,
    sub: Option<&'static AttrDef>,
    value: Option<&Value>,
) -> Result<(), Error> {
    let map = container(doc, target.extension);
    let name = target.def.name;
    let mut items = match map.remove(name) {
        Some(Value::Array(items)) => items,
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let mut matched = 0;
    let mut kept = Vec::with_capacity(items.len());
    for mut item in items.drain(..) {
        if !matches(target.def, &item, filter)? {
            kept.push(item);
            continue;
        }
        matched += 1;
        match (kind, sub) {
            (OpKind::Remove, None) => continue,
            (OpKind::Remove, Some(sub)) => {
                if let Some(object) = item.as_object_mut() {
                    object.remove(sub.name);
                }
            }
            (_, Some(sub)) => {
                if let Some(object) = item.as_object_mut() {
                    object.insert(sub.name.to_owned(), value.cloned().unwrap_or(Value::Null));
                }
            }
            (OpKind::Add, None) => {
                if let (Some(object), Some(Value::Object(fields))) = (item.as_object_mut(), value) {
                    for (key, field) in fields {
                        object.insert(canonical_sub(target.def, key), field.clone());
                    }
                }
            }
            (OpKind::Replace, None) => {
                item = value.cloned().unwrap_or(Value::Null);
            }
        }
        kept.push(item);
    }
    if matched == 0 {
        match kind {
            OpKind::Remove => {
                map.insert(name.to_owned(), Value::Array(kept));
                return Err(Error::NoTarget(format!(
                    "no value of {name} matches the path's filter"
                )));
            }
            // Entra replaces `emails[type eq "work"].value` on users that have no work email:
            // create the value the filter describes.
            OpKind::Add | OpKind::Replace => {
                let mut created = seed(filter);
                match (sub, value) {
                    (Some(sub), Some(value)) => {
                        created.insert(sub.name.to_owned(), value.clone());
                    }
                    (None, Some(Value::Object(fields))) => {
                        for (key, field) in fields {
                            created.insert(canonical_sub(target.def, key), field.clone());
                        }
                    }
                    _ => {}
                }
                kept.push(Value::Object(created));
            }
        }
    }
    map.insert(name.to_owned(), Value::Array(kept));
    Ok(())
}

/// The fields an element must have to match `filter`, from its `eq` comparisons.
fn seed(filter: &ValFilter) -> Map<String, Value> {
    let mut out = Map::new();
    let mut add = |exp: &AttrExp| {
        if let AttrExp::Comparison(path, CompareOp::Eq, value) = exp {
            let value = match value {
                CompValue::Str(s) => json!(s),
                CompValue::True => json!(true),
                CompValue::False => json!(false),
                _ => return,
            };
            out.insert(path.name.clone(), value);
        }
    };
    match filter {
        ValFilter::Attr(exp) => add(exp),
        ValFilter::And(operands) => operands.iter().for_each(|f| {
            if let ValFilter::Attr(exp) = f {
                add(exp);
            }
        }),
        _ => {}
    }
    out
}

/// Whether one element of a multi-valued attribute satisfies a value filter.
fn matches(def: &AttrDef, item: &Value, filter: &ValFilter) -> Result<bool, Error> {
    Ok(match filter {
        ValFilter::Not(inner) => !matches(def, item, inner)?,
        ValFilter::And(operands) => {
            for operand in operands.iter() {
                if !matches(def, item, operand)? {
                    return Ok(false);
                }
            }
            true
        }
        ValFilter::Or(operands) => {
            for operand in operands.iter() {
                if matches(def, item, operand)? {
                    return Ok(true);
                }
            }
            false
        }
        ValFilter::Attr(exp) => {
            let (path, op, expected) = match exp {
                AttrExp::Present(path) => (path, None, None),
                AttrExp::Comparison(path, op, value) => (path, Some(op), Some(value)),
            };
            let sub = def.sub(&path.name).ok_or_else(|| {
                Error::InvalidFilter(format!("{} has no sub-attribute {:?}", def.name, path.name))
            })?;
            let actual = item
                .as_object()
                .and_then(|object| {
                    object
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(sub.name))
                })
                .map(|(_, v)| v);
            compare_value(sub, actual, op, expected)?
        }
    })
}

fn compare_value(
    sub: &AttrDef,
    actual: Option<&Value>,
    op: Option<&CompareOp>,
    expected: Option<&CompValue>,
) -> Result<bool, Error> {
    let Some(op) = op else {
        return Ok(actual.is_some_and(|v| !v.is_null() && v.as_str() != Some("")));
    };
    let actual = actual.filter(|v| !v.is_null());
    match (actual, expected) {
        (_, None | Some(CompValue::Null)) => Ok(match op {
            CompareOp::Eq => actual.is_none(),
            CompareOp::Ne => actual.is_some(),
            _ => false,
        }),
        (Some(Value::Bool(b)), Some(CompValue::True | CompValue::False)) => {
            let wanted = matches!(expected, Some(CompValue::True));
            Ok(match op {
                CompareOp::Eq => *b == wanted,
                CompareOp::Ne => *b != wanted,
                _ => {
                    return Err(Error::InvalidFilter(format!(
                        "{op} does not apply to booleans"
                    )));
                }
            })
        }
        (Some(Value::Bool(b)), Some(CompValue::Str(s))) => {
            let wanted = s.eq_ignore_ascii_case("true");
            Ok(match op {
                CompareOp::Eq => *b == wanted,
                CompareOp::Ne => *b != wanted,
                _ => false,
            })
        }
        (Some(Value::String(actual)), Some(CompValue::Str(expected))) => {
            let (actual, expected) = if sub.case_exact {
                (actual.clone(), expected.clone())
            } else {
                (actual.to_lowercase(), expected.to_lowercase())
            };
            Ok(match op {
                CompareOp::Eq => actual == expected,
                CompareOp::Ne => actual != expected,
                CompareOp::Co => actual.contains(&expected),
                CompareOp::Sw => actual.starts_with(&expected),
                CompareOp::Ew => actual.ends_with(&expected),
                CompareOp::Gt => actual > expected,
                CompareOp::Ge => actual >= expected,
                CompareOp::Lt => actual < expected,
                CompareOp::Le => actual <= expected,
            })
        }
        (None, Some(_)) => Ok(matches!(op, CompareOp::Ne)),
        _ => Ok(false),
    }
}

// ---------------------------------------------------------------- groups

/// Member ids named by a `members[…]` filter: `value eq "id"`, or such terms joined by `or`.
fn filtered_member_ids(filter: &ValFilter) -> Result<Vec<String>, Error> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(id)))
            if path.name.eq_ignore_ascii_case("value") =>
        {
            Ok(vec![id.clone()])
        }
        ValFilter::Or(operands) => {
            let mut ids = Vec::new();
            for operand in operands.iter() {
                ids.extend(filtered_member_ids(operand)?);
            }
            Ok(ids)
        }
        _ => Err(Error::InvalidFilter(
            "members can be selected only with value eq \"<id>\" (or several joined by or)"
                .to_owned(),
        )),
    }
}

/// Accumulates member changes so that later operations win over earlier ones.
#[derive(Default)]
struct Members {
    remove_all: bool,
    add: BTreeSet<String>,
    remove: BTreeSet<String>,
}

impl Members {
    fn add(&mut self, ids: Vec<String>) {
        for id in ids {
            self.remove.remove(&id);
            self.add.insert(id);
        }
    }

    fn remove(&mut self, ids: Vec<String>) {
        for id in ids {
            self.add.remove(&id);
            self.remove.insert(id);
        }
    }

    fn clear(&mut self) {
        self.remove_all = true;
        self.add.clear();
        self.remove.clear();
    }
}

fn member_list(value: Option<&Value>) -> Result<Vec<String>, Error> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => member_ids(items),
        Some(single @ Value::Object(_)) => member_ids(std::slice::from_ref(single)),
        Some(_) => Err(Error::Invalid(
            "members must be a list of {\"value\": \"<user id>\"}".to_owned(),
        )),
    }
}

/// The `GroupChange` of a PATCH that only adds or removes listed members (so applies to
/// any group whatever its attributes), or `None`.
pub fn membership_change(ops: &[PatchOp]) -> Option<GroupChange> {
    group_change(&Map::new(), ops)
        .ok()
        .filter(|change| change.attributes.is_none() && !change.remove_all_members)
}

/// Turns a group PATCH into one `GroupChange` over `current` (`displayName`, `externalId`).
pub fn group_change(current: &Map<String, Value>, ops: &[PatchOp]) -> Result<GroupChange, Error> {
    let mut attrs = current.clone();
    let mut attrs_touched = false;
    let mut members = Members::default();
    for op in ops {
        let mut apply_field =
            |key: &str, value: Option<&Value>, kind: OpKind| -> Result<(), Error> {
                let key = key
                    .strip_prefix(&format!("{}:", schema::GROUP_SCHEMA))
                    .unwrap_or(key);
                if key.eq_ignore_ascii_case("members") {
                    match kind {
                        OpKind::Add => members.add(member_list(value)?),
                        OpKind::Replace => {
                            members.clear();
                            members.add(member_list(value)?);
                        }
                        OpKind::Remove => match value {
                            None | Some(Value::Null) => members.clear(),
                            listed => members.remove(member_list(listed)?),
                        },
                    }
                    return Ok(());
                }
                let name = if key.eq_ignore_ascii_case("displayName") {
                    "displayName"
                } else if key.eq_ignore_ascii_case("externalId") {
                    "externalId"
                } else if ["id", "meta", "schemas"]
                    .iter()
                    .any(|k| key.eq_ignore_ascii_case(k))
                {
                    return Err(Error::Mutability(format!("{key} cannot be changed")));
                } else {
                    return Ok(());
                };
                attrs_touched = true;
                match (kind, value) {
                    (OpKind::Remove, _) | (_, None | Some(Value::Null)) => {
                        attrs.remove(name);
                    }
                    (_, Some(Value::String(text))) => {
                        attrs.insert(name.to_owned(), Value::String(text.clone()));
                    }
                    (_, Some(_)) => return Err(Error::Invalid(format!("{name} must be a string"))),
                }
                Ok(())
            };
        match &op.path {
            None => {
                let Some(Value::Object(fields)) = &op.value else {
                    return Err(Error::Invalid(
                        "an operation without a path needs an object value".to_owned(),
                    ));
                };
                for (key, value) in fields {
                    apply_field(key, Some(value), op.kind)?;
                }
            }
            Some(PatchPath::Attr(path)) if path.sub_attr.is_none() => {
                apply_field(&path.name, op.value.as_ref(), op.kind)?;
            }
            Some(PatchPath::Attr(path)) => {
                return Err(Error::InvalidPath(format!(
                    "{path} cannot be patched on a Group"
                )));
            }
            Some(PatchPath::Value(value_path)) => {
                if !value_path.attr.name.eq_ignore_ascii_case("members")
                    || value_path.sub_attr.is_some()
                {
                    return Err(Error::InvalidPath(format!(
                        "{value_path} cannot be patched on a Group"
                    )));
                }
                match op.kind {
                    OpKind::Remove => members.remove(filtered_member_ids(&value_path.filter)?),
                    _ => {
                        return Err(Error::InvalidPath(
                            "members[…] can only be removed".to_owned(),
                        ));
                    }
                }
            }
        }
    }
    let attributes = if attrs_touched {
        Some(resource::normalize_group(&Value::Object(attrs))?.attributes)
    } else {
        None
    };
    Ok(GroupChange {
        attributes,
        remove_all_members: members.remove_all,
        add: members.add.into_iter().collect(),
        remove: members.remove.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn patch(ops: Value) -> Vec<PatchOp> {
        parse_request(&json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": ops })).unwrap()
    }

    fn user() -> Map<String, Value> {
        resource::normalize_user(&json!({
            "userName": "alice",
            "active": true,
            "name": { "givenName": "Alice", "familyName": "Smith" },
            "emails": [{ "value": "alice@work.com", "type": "work", "primary": true }, { "value": "a@home.org", "type": "home" }]
        }))
        .unwrap()
    }

    fn apply(ops: Value) -> Result<Value, Error> {
        apply_to_user(&user(), &patch(ops)).map(Value::Object)
    }

    #[test]
    fn entra_replace_active_with_string_booleans() {
        for value in ["False", "false", "FALSE"] {
            let out =
                apply(json!([{ "op": "Replace", "path": "active", "value": value }])).unwrap();
            assert_eq!(out["active"], false);
        }
        let out = apply(json!([{ "op": "replace", "path": "active", "value": true }])).unwrap();
        assert_eq!(out["active"], true);
    }

    #[test]
    fn entra_pathless_replace_with_path_keys() {
        let out = apply(json!([{
            "op": "replace",
            "value": {
                "displayName": "Alice S.",
                "name.givenName": "Ally",
                "emails[type eq \"work\"].value": "ally@work.com",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
                "active": "False"
            }
        }]))
        .unwrap();
        assert_eq!(out["displayName"], "Alice S.");
        assert_eq!(
            out["name"],
            json!({ "givenName": "Ally", "familyName": "Smith" })
        );
        assert_eq!(out["emails"][0]["value"], "ally@work.com");
        assert_eq!(out["emails"][1]["value"], "a@home.org");
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({ "employeeNumber": "42" })
        );
        assert_eq!(out["active"], false);
        assert!(
            out.get("name.givenName").is_none(),
            "keys are paths, never stored literally"
        );
    }

    #[test]
    fn replace_on_unmatched_filter_adds_the_value() {
        let out = apply_to_user(
            &resource::normalize_user(&json!({ "userName": "bob" })).unwrap(),
            &patch(json!([{ "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bob@work.com" }])),
        )
        .unwrap();
        assert_eq!(
            out["emails"],
            json!([{ "type": "work", "value": "bob@work.com" }])
        );
    }

    #[test]
    fn rfc_examples() {
        // RFC 7644 §3.5.2.1: add emails.
        let out = apply(json!([{ "op": "add", "path": "emails", "value": [{ "value": "x@y.com", "type": "other" }] }])).unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 3);
        // Adding the same value again does not duplicate it.
        let out = apply(json!([
            { "op": "add", "path": "emails", "value": [{ "value": "x@y.com" }] },
            { "op": "add", "path": "emails", "value": [{ "value": "x@y.com" }] }
        ]))
        .unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 3);
        // §3.5.2.2: remove by filter.
        let out = apply(json!([{ "op": "remove", "path": "emails[type eq \"home\"]" }])).unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 1);
        // §3.5.2.3: replace a sub-attribute through a filter.
        let out = apply(json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work.com" }])).unwrap();
        assert_eq!(out["emails"][0]["value"], "new@work.com");
        // Remove a single-valued attribute.
        let out = apply(json!([{ "op": "remove", "path": "name.familyName" }])).unwrap();
        assert_eq!(out["name"], json!({ "givenName": "Alice" }));
        // Add to a complex attribute without a sub-attribute merges.
        let out = apply(json!([{ "op": "add", "path": "name", "value": { "middleName": "Q" } }]))
            .unwrap();
        assert_eq!(out["name"]["middleName"], "Q");
        assert_eq!(out["name"]["givenName"], "Alice");
        // Enterprise manager as a bare id.
        let out = apply(json!([{ "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "boss-id" }])).unwrap();
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
            json!({ "value": "boss-id" })
        );
        // Unknown attributes are ignored.
        let out =
            apply(json!([{ "op": "add", "path": "favoriteColor", "value": "blue" }])).unwrap();
        assert!(out.get("favoriteColor").is_none());
    }

    #[test]
    fn the_own_id_is_dropped_and_another_refused() {
        let ops = |value: Value| patch(json!([value]));
        let kept = without_own_id(
            ops(json!({ "op": "replace", "value": { "id": "g1", "displayName": "New" } })),
            "g1",
        )
        .unwrap();
        assert_eq!(kept[0].value, Some(json!({ "displayName": "New" })));
        let kept = without_own_id(
            ops(json!({ "op": "Replace", "path": "id", "value": "g1" })),
            "g1",
        )
        .unwrap();
        assert!(kept.is_empty());
        for refused in [
            json!({ "op": "replace", "value": { "ID": "g2", "displayName": "New" } }),
            json!({ "op": "replace", "path": "id", "value": "g2" }),
            json!({ "op": "remove", "path": "id" }),
            json!({ "op": "replace", "value": { "id": 7 } }),
        ] {
            let err = without_own_id(ops(refused.clone()), "g1").unwrap_err();
            assert!(matches!(err, Error::Mutability(_)), "{refused}: {err:?}");
        }
        let untouched = ops(json!({ "op": "add", "path": "members", "value": [{ "value": "u" }] }));
        assert_eq!(without_own_id(untouched, "g1").unwrap().len(), 1);
    }

    #[test]
    fn the_enterprise_extension_as_a_whole() {
        let urn = schema::ENTERPRISE_USER_SCHEMA;
        let out = apply(json!([{ "op": "add", "path": urn, "value": { "schemas": [urn], "department": "Sales", "manager": { "value": "m" } } }])).unwrap();
        assert_eq!(
            out[urn],
            json!({ "department": "Sales", "manager": { "value": "m" } })
        );
        let out = apply(json!([
            { "op": "add", "path": urn, "value": { "department": "Sales" } },
            { "op": "replace", "path": urn, "value": { "division": "EU" } }
        ]))
        .unwrap();
        assert_eq!(out[urn], json!({ "division": "EU" }));
        let out = apply(json!([
            { "op": "add", "path": urn, "value": { "department": "Sales" } },
            { "op": "remove", "path": urn }
        ]))
        .unwrap();
        assert!(out.get(urn).is_none());
    }

    #[test]
    fn errors() {
        let cases = [
            (
                json!([{ "op": "remove", "path": "emails[type eq \"pager\"]" }]),
                "noTarget",
            ),
            (
                json!([{ "op": "remove", "path": "userName" }]),
                "invalidValue",
            ),
            (
                json!([{ "op": "replace", "path": "active", "value": "perhaps" }]),
                "invalidValue",
            ),
            (
                json!([{ "op": "replace", "path": "id", "value": "x" }]),
                "mutability",
            ),
            (
                json!([{ "op": "replace", "path": "groups", "value": [] }]),
                "mutability",
            ),
            (
                json!([{ "op": "replace", "path": "userName[value eq \"x\"]", "value": "y" }]),
                "invalidPath",
            ),
        ];
        for (ops, expected) in cases {
            let err = apply(ops.clone()).unwrap_err();
            let kind = match err {
                Error::NoTarget(_) => "noTarget",
                Error::Invalid(_) => "invalidValue",
                Error::Mutability(_) => "mutability",
                Error::InvalidPath(_) => "invalidPath",
                other => panic!("{ops}: {other:?}"),
            };
            assert_eq!(kind, expected, "{ops}");
        }
        for body in [
            json!({ "Operations": [{ "op": "jump", "path": "active", "value": true }] }),
            json!({ "Operations": [{ "op": "add", "path": "active" }] }),
            json!({ "Operations": [{ "op": "remove" }] }),
            json!({ "Operations": [{ "op": "add", "path": "emails[type eq", "value": 1 }] }),
            json!({ "ops": [] }),
            json!({ "Operations": [] }),
            json!([]),
        ] {
            assert!(parse_request(&body).is_err(), "{body}");
        }
    }

    #[test]
    fn group_member_shapes() {
        let current = json!({ "displayName": "Sales" })
            .as_object()
            .unwrap()
            .clone();
        let change = group_change(
            &current,
            &patch(json!([
                { "op": "Add", "path": "members", "value": [{ "value": "u1", "$ref": null }, { "value": "u2" }] },
                { "op": "Remove", "path": "members", "value": [{ "value": "u3" }] },
                { "op": "remove", "path": "members[value eq \"u4\"]" },
                { "op": "Replace", "path": "displayName", "value": "Sales EU" }
            ])),
        )
        .unwrap();
        assert_eq!(change.add, vec!["u1", "u2"]);
        assert_eq!(change.remove, vec!["u3", "u4"]);
        assert!(
            !change.remove_all_members,
            "removing listed members never removes all"
        );
        assert_eq!(change.attributes.unwrap()["displayName"], "Sales EU");

        let change = group_change(
            &current,
            &patch(json!([{ "op": "remove", "path": "members" }])),
        )
        .unwrap();
        assert!(change.remove_all_members);
        let change = group_change(
            &current,
            &patch(json!([{ "op": "replace", "value": { "members": [{ "value": "u9" }], "externalId": "e" } }])),
        )
        .unwrap();
        assert!(change.remove_all_members);
        assert_eq!(change.add, vec!["u9"]);
        assert!(
            group_change(
                &current,
                &patch(json!([{ "op": "remove", "path": "displayName" }]))
            )
            .is_err()
        );
        assert!(
            group_change(
                &current,
                &patch(json!([{ "op": "add", "path": "members", "value": [{ "display": "x" }] }]))
            )
            .is_err()
        );
    }

    fn arbitrary_op() -> impl Strategy<Value = Value> {
        let ops = prop::sample::select(vec!["add", "Add", "remove", "Replace", "replace", "bogus"]);
        let paths = prop::sample::select(vec![
            "",
            "active",
            "userName",
            "name.givenName",
            "name",
            "emails",
            "emails[type eq \"work\"].value",
            "emails[type eq \"home\"]",
            "title",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "members",
            "id",
            "emails[",
            "x.y.z",
            "groups",
        ]);
        let values = prop_oneof![
            Just(Value::Null),
            Just(json!("True")),
            Just(json!(false)),
            Just(json!("text")),
            Just(json!(7)),
            Just(json!([{ "value": "v", "type": "work" }])),
            Just(json!({ "givenName": "G", "name.familyName": "F", "active": "False" })),
            Just(json!([])),
        ];
        (ops, paths, values).prop_map(|(op, path, value)| {
            let mut object = json!({ "op": op, "value": value });
            if !path.is_empty() {
                object["path"] = json!(path);
            }
            object
        })
    }

    proptest! {
        /// Any op list either fails as a whole (nothing to write) or yields a valid user.
        #[test]
        fn patch_never_panics_and_is_all_or_nothing(ops in prop::collection::vec(arbitrary_op(), 0..6)) {
            let before = user();
            let body = json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": ops });
            if let Ok(ops) = parse_request(&body) {
                match apply_to_user(&before, &ops) {
                    Ok(after) => prop_assert!(resource::normalize_user(&Value::Object(after)).is_ok()),
                    Err(_) => prop_assert_eq!(&before, &user()),
                }
                let _ = group_change(&before, &ops);
            }
        }
    }
}
