//! The shapes SCIM bodies take, for the OpenAPI document only. Handlers read and write
//! SCIM resources as JSON (unknown attributes must be accepted and ignored, Entra's quirks
//! coerced), so these types never parse a request; `Documented<T>` carries a JSON value and
//! lends it `T`'s schema, which is what generated clients see.

use std::{borrow::Cow, marker::PhantomData};

use poem_openapi::{
    Object,
    registry::{MetaSchemaRef, Registry},
    types::{ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use crate::text::{ScimIndexed, ScimKey, ScimValue, Text};

/// A JSON value documented with the schema of `T`.
pub struct Documented<T> {
    pub value: Value,
    schema: PhantomData<fn() -> T>,
}

impl<T> Documented<T> {
    pub fn new(value: Value) -> Self {
        Self {
            value,
            schema: PhantomData,
        }
    }
}

impl<T: Type> Type for Documented<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Value;
    type RawElementValueType = Value;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Value> {
        Some(&self.value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        Box::new(std::iter::once(&self.value))
    }
}

impl<T: Type> ParseFromJSON for Documented<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(Self::new(value.unwrap_or_default()))
    }
}

impl<T: Type> ToJSON for Documented<T> {
    fn to_json(&self) -> Option<Value> {
        Some(self.value.clone())
    }
}

/// Resource metadata (RFC 7643 §3.1).
#[derive(Object)]
#[oai(rename = "ScimMeta", rename_all = "camelCase")]
pub struct Meta {
    /// `User` or `Group`.
    pub resource_type: String,
    /// When the resource was created.
    pub created: chrono::DateTime<chrono::Utc>,
    /// When the resource last changed.
    pub last_modified: chrono::DateTime<chrono::Utc>,
    /// The resource's URL.
    pub location: String,
    /// Weak ETag of the current version, as in the `ETag` header.
    pub version: String,
}

/// The components of a user's name.
#[derive(Object)]
#[oai(rename = "ScimName", rename_all = "camelCase")]
pub struct Name {
    /// The full name, formatted for display.
    pub formatted: Option<Text<ScimValue>>,
    /// The family name.
    pub family_name: Option<Text<ScimValue>>,
    /// The given name.
    pub given_name: Option<Text<ScimValue>>,
    /// The middle name(s).
    pub middle_name: Option<Text<ScimValue>>,
    /// Honorific prefix(es).
    pub honorific_prefix: Option<Text<ScimValue>>,
    /// Honorific suffix(es).
    pub honorific_suffix: Option<Text<ScimValue>>,
}

/// One value of `emails`, `phoneNumbers`, `ims`, `entitlements` or `roles`, whose `value`
/// and `type` are indexed (searchable by filters).
#[derive(Object)]
#[oai(rename = "ScimMultiValue")]
pub struct MultiValue {
    /// The value.
    pub value: Option<Text<ScimIndexed>>,
    /// A human-readable label.
    pub display: Option<Text<ScimValue>>,
    /// What the value is for, e.g. `work`.
    #[oai(rename = "type")]
    pub kind: Option<Text<ScimIndexed>>,
    /// Whether this is the preferred value; `"True"`/`"False"` strings are accepted too.
    pub primary: Option<bool>,
}

/// One value of `photos` or `x509Certificates`: not indexed, so as long as the body allows
/// (a certificate is kilobytes of base64).
#[derive(Object)]
#[oai(rename = "ScimLongMultiValue")]
pub struct LongMultiValue {
    /// The value: a URL, or a DER certificate in base64.
    pub value: Option<Text<ScimValue>>,
    /// A human-readable label.
    pub display: Option<Text<ScimValue>>,
    /// What the value is for, e.g. `photo`.
    #[oai(rename = "type")]
    pub kind: Option<Text<ScimValue>>,
    /// Whether this is the preferred value; `"True"`/`"False"` strings are accepted too.
    pub primary: Option<bool>,
}

/// A postal address.
#[derive(Object)]
#[oai(rename = "ScimAddress", rename_all = "camelCase")]
pub struct Address {
    /// The full address, formatted for display.
    pub formatted: Option<Text<ScimValue>>,
    /// Street address.
    pub street_address: Option<Text<ScimValue>>,
    /// City or locality.
    pub locality: Option<Text<ScimValue>>,
    /// State or region.
    pub region: Option<Text<ScimValue>>,
    /// Postal code.
    pub postal_code: Option<Text<ScimValue>>,
    /// Country.
    pub country: Option<Text<ScimValue>>,
    /// What the address is for, e.g. `work`.
    #[oai(rename = "type")]
    pub kind: Option<Text<ScimValue>>,
    /// Whether this is the preferred address.
    pub primary: Option<bool>,
}

/// A reference to another resource (a user's group, a group's member, a manager).
#[derive(Object)]
#[oai(rename = "ScimReference")]
pub struct Reference {
    /// The referenced resource's `id`.
    pub value: Text<ScimKey>,
    /// The referenced resource's URL.
    #[oai(rename = "$ref")]
    pub reference: Option<Text<ScimValue>>,
    /// The referenced resource's display name (users' `groups` only).
    pub display: Option<Text<ScimValue>>,
    /// `User` for members, `direct` for a user's groups.
    #[oai(rename = "type")]
    pub kind: Option<Text<ScimValue>>,
}

/// The user's manager.
#[derive(Object)]
#[oai(rename = "ScimManager")]
pub struct Manager {
    /// The manager's user `id` (a bare string is accepted too).
    pub value: Option<Text<ScimValue>>,
    /// The manager's URL.
    #[oai(rename = "$ref")]
    pub reference: Option<Text<ScimValue>>,
}

/// The enterprise User extension (RFC 7643 §4.3).
#[derive(Object)]
#[oai(rename = "ScimEnterpriseUser", rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// Employee number.
    pub employee_number: Option<Text<ScimValue>>,
    /// Cost center.
    pub cost_center: Option<Text<ScimValue>>,
    /// Organization.
    pub organization: Option<Text<ScimValue>>,
    /// Division.
    pub division: Option<Text<ScimValue>>,
    /// Department.
    pub department: Option<Text<ScimValue>>,
    // Manager.
    pub manager: Option<Manager>,
}

/// Declares a User body: the attributes clients write, with `userName` of the given type,
/// and around them the server's own (`id`, `groups`, `meta`) where the body is an answer.
macro_rules! user_object {
    (
        $(#[$attr:meta])*
        $name:ident {
            before { $($(#[$lead_attr:meta])* $lead:ident: $lead_ty:ty,)* }
            user_name: $user_name:ty,
            after { $($(#[$trail_attr:meta])* $trail:ident: $trail_ty:ty,)* }
        }
    ) => {
        #[derive(Object)]
        $(#[$attr])*
        pub struct $name {
            /// `urn:ietf:params:scim:schemas:core:2.0:User`, plus the enterprise URI when
            /// present.
            pub schemas: Option<Vec<String>>,
            $($(#[$lead_attr])* pub $lead: $lead_ty,)*
            /// The provisioning client's id for the user (Entra: the objectId).
            pub external_id: Option<Text<ScimIndexed>>,
            /// Unique per tenant regardless of case; required when creating or replacing.
            pub user_name: $user_name,
            // Name components.
            pub name: Option<Name>,
            /// Display name.
            pub display_name: Option<Text<ScimIndexed>>,
            /// Casual name.
            pub nick_name: Option<Text<ScimValue>>,
            /// Profile URL.
            pub profile_url: Option<Text<ScimValue>>,
            /// Job title.
            pub title: Option<Text<ScimValue>>,
            /// Relationship to the organization, e.g. `Employee`.
            pub user_type: Option<Text<ScimValue>>,
            /// Preferred language, e.g. `en-US`.
            pub preferred_language: Option<Text<ScimValue>>,
            /// Locale, e.g. `en-US`.
            pub locale: Option<Text<ScimValue>>,
            /// Time zone, e.g. `Europe/Budapest`.
            pub timezone: Option<Text<ScimValue>>,
            /// `false` deactivates (the user stays readable); `"True"`/`"False"` strings
            /// are accepted.
            pub active: Option<bool>,
            /// Email addresses.
            #[oai(validator(max_items = 100))]
            pub emails: Option<Vec<MultiValue>>,
            /// Phone numbers.
            #[oai(validator(max_items = 100))]
            pub phone_numbers: Option<Vec<MultiValue>>,
            /// Instant messaging addresses.
            #[oai(validator(max_items = 100))]
            pub ims: Option<Vec<MultiValue>>,
            /// Photo URLs.
            #[oai(validator(max_items = 100))]
            pub photos: Option<Vec<LongMultiValue>>,
            /// Postal addresses.
            #[oai(validator(max_items = 100))]
            pub addresses: Option<Vec<Address>>,
            /// Entitlements.
            #[oai(validator(max_items = 100))]
            pub entitlements: Option<Vec<MultiValue>>,
            /// Roles.
            #[oai(validator(max_items = 100))]
            pub roles: Option<Vec<MultiValue>>,
            /// Certificates.
            #[oai(validator(max_items = 100))]
            pub x509_certificates: Option<Vec<LongMultiValue>>,
            // The enterprise extension.
            #[oai(rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")]
            pub enterprise: Option<EnterpriseUser>,
            $($(#[$trail_attr])* pub $trail: $trail_ty,)*
        }
    };
}

user_object! {
    /// A SCIM User as the server answers it (RFC 7643 §4.1); `attributes` may leave
    /// out any attribute but `id`.
    #[oai(rename = "ScimUser", rename_all = "camelCase")]
    User {
        before {
            /// Server-assigned id.
            #[oai(read_only)]
            id: Option<Text<ScimValue>>,
        }
        user_name: Option<Text<ScimKey>>,
        after {
            /// Groups the user is in (read-only; change membership on the Group).
            groups: Option<Vec<Reference>>,
            // Resource metadata; the server's to write (poem-openapi would wrap a
            // referenced schema marked read-only in an `allOf`, which generators mishandle).
            meta: Option<Meta>,
        }
    }
}

user_object! {
    /// A SCIM User as a client creates or replaces it (RFC 7643 §4.1). Attributes not
    /// listed (`id`, `groups`, `meta` and unknown ones) are accepted and ignored.
    #[oai(rename = "ScimUserRequest", rename_all = "camelCase")]
    UserRequest {
        before {}
        user_name: Text<ScimKey>,
        after {}
    }
}

/// A SCIM Group as the server answers it (RFC 7643 §4.2); `attributes` may leave out any
/// attribute but `id`.
#[derive(Object)]
#[oai(rename = "ScimGroup", rename_all = "camelCase")]
pub struct Group {
    /// `urn:ietf:params:scim:schemas:core:2.0:Group`.
    pub schemas: Option<Vec<String>>,
    /// Server-assigned id.
    #[oai(read_only)]
    pub id: Option<Text<ScimValue>>,
    /// The provisioning client's id for the group (Entra: the objectId).
    pub external_id: Option<Text<ScimIndexed>>,
    /// Unique per tenant regardless of case.
    pub display_name: Option<Text<ScimKey>>,
    /// Member users (`value` is the user's id).
    pub members: Option<Vec<Reference>>,
    // Resource metadata; the server's to write (poem-openapi would wrap a referenced
    // schema marked read-only in an `allOf`, which generators mishandle).
    pub meta: Option<Meta>,
}

/// A SCIM Group as a client creates or replaces it (RFC 7643 §4.2). Attributes not listed
/// (`id`, `meta` and unknown ones) are accepted and ignored.
#[derive(Object)]
#[oai(rename = "ScimGroupRequest", rename_all = "camelCase")]
pub struct GroupRequest {
    /// `urn:ietf:params:scim:schemas:core:2.0:Group`.
    pub schemas: Option<Vec<String>>,
    /// The provisioning client's id for the group (Entra: the objectId).
    pub external_id: Option<Text<ScimIndexed>>,
    /// Unique per tenant regardless of case.
    pub display_name: Text<ScimKey>,
    /// Member users (`value` is the user's id); more are added by PATCH.
    #[oai(validator(max_items = 10000))]
    pub members: Option<Vec<Reference>>,
}

/// One PATCH operation (RFC 7644 §3.5.2).
#[derive(Object)]
#[oai(rename = "ScimPatchOperation")]
pub struct PatchOperation {
    /// `add`, `remove` or `replace`, in any case.
    #[oai(validator(
        pattern = "^([Aa][Dd][Dd]|[Rr][Ee][Mm][Oo][Vv][Ee]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee])$"
    ))]
    pub op: String,
    /// The attribute path, e.g. `members`, `emails[type eq "work"].value`; without it the
    /// value is an object of attributes (whose keys may themselves be paths).
    pub path: Option<String>,
    /// The value to add or set; for `remove` on `members`, the members to remove.
    pub value: Option<Value>,
}

/// A PATCH request body.
#[derive(Object)]
#[oai(rename = "ScimPatchRequest")]
pub struct PatchRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`.
    pub schemas: Option<Vec<String>>,
    /// The operations, applied in order and all-or-nothing; at least one (RFC 7644
    /// §3.5.2).
    #[oai(rename = "Operations", validator(min_items = 1))]
    pub operations: Vec<PatchOperation>,
}

/// A page of users.
#[derive(Object)]
#[oai(rename = "ScimUserList", rename_all = "camelCase")]
pub struct UserList {
    /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
    pub schemas: Vec<String>,
    /// How many users match in all.
    pub total_results: u64,
    /// 1-based index of the first user on this page.
    pub start_index: u64,
    /// How many users are on this page.
    pub items_per_page: u64,
    /// The users on this page.
    #[oai(rename = "Resources")]
    pub resources: Vec<User>,
}

/// A page of groups.
#[derive(Object)]
#[oai(rename = "ScimGroupList", rename_all = "camelCase")]
pub struct GroupList {
    /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
    pub schemas: Vec<String>,
    /// How many groups match in all.
    pub total_results: u64,
    /// 1-based index of the first group on this page.
    pub start_index: u64,
    /// How many groups are on this page.
    pub items_per_page: u64,
    /// The groups on this page.
    #[oai(rename = "Resources")]
    pub resources: Vec<Group>,
}

#[cfg(test)]
mod tests {
    use poem_openapi::registry::{MetaSchemaRef, Registry};

    use super::*;
    use crate::scim::resource::{MAX_MEMBERS_PER_REQUEST, MAX_VALUES};

    /// The array bounds the document states, each next to the one the server checks.
    fn array_bounds<T: Type>() -> Vec<(&'static str, Option<usize>)> {
        let mut registry = Registry::new();
        T::register(&mut registry);
        let MetaSchemaRef::Reference(name) = T::schema_ref() else {
            panic!("{} is registered by name", T::name());
        };
        registry.schemas[&name]
            .properties
            .iter()
            .filter_map(|(property, schema)| match schema {
                MetaSchemaRef::Inline(schema) if schema.ty == "array" => {
                    Some((*property, schema.max_items))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn documented_array_bounds_are_the_checked_ones() {
        let user = array_bounds::<UserRequest>();
        assert_eq!(user.len(), 9, "{user:?}");
        for (property, max) in user {
            let expected = (property != "schemas").then_some(MAX_VALUES);
            assert_eq!(max, expected, "{property}");
        }
        let group = array_bounds::<GroupRequest>();
        assert!(
            group.contains(&("members", Some(MAX_MEMBERS_PER_REQUEST))),
            "{group:?}"
        );
    }
}
