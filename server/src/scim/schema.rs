//! The attributes we serve, with their RFC 7643 characteristics. One table drives input
//! normalisation, attribute lookup for filters and PATCH paths, and the `/Schemas` documents,
//! so what we announce is what we do.

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    DateTime,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::DateTime => "dateTime",
            Self::Reference => "reference",
            Self::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "readOnly",
            Self::ReadWrite => "readWrite",
            Self::Immutable => "immutable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Default,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Server => "server",
        }
    }
}

#[derive(Debug)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [AttrDef],
    pub description: &'static str,
}

impl AttrDef {
    /// The sub-attribute named `name`, compared without case (RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&'static AttrDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A plain, optional, read-write, case-insensitive string.
const fn string(name: &'static str, description: &'static str) -> AttrDef {
    AttrDef {
        name,
        ty: AttrType::String,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
        description,
    }
}

const fn with_type(mut attr: AttrDef, ty: AttrType) -> AttrDef {
    attr.ty = ty;
    attr
}

const fn canonical(mut attr: AttrDef, values: &'static [&'static str]) -> AttrDef {
    attr.canonical_values = values;
    attr
}

const fn complex(
    name: &'static str,
    description: &'static str,
    subs: &'static [AttrDef],
) -> AttrDef {
    let mut attr = string(name, description);
    attr.ty = AttrType::Complex;
    attr.sub_attributes = subs;
    attr
}

const fn multi(mut attr: AttrDef) -> AttrDef {
    attr.multi_valued = true;
    attr
}

const fn read_only(mut attr: AttrDef) -> AttrDef {
    attr.mutability = Mutability::ReadOnly;
    attr
}

const fn reference(
    name: &'static str,
    description: &'static str,
    types: &'static [&'static str],
) -> AttrDef {
    let mut attr = with_type(string(name, description), AttrType::Reference);
    attr.reference_types = types;
    attr.case_exact = true;
    attr
}

const fn boolean(name: &'static str, description: &'static str) -> AttrDef {
    with_type(string(name, description), AttrType::Boolean)
}

/// `value`, `display`, `type`, `primary`: the sub-attributes of RFC 7643's multi-valued
/// string attributes (emails, phoneNumbers, ims, photos, roles, entitlements, x509Certificates).
macro_rules! multi_valued_string {
    ($name:literal, $description:literal, $value_description:literal, [$($canonical:literal),*]) => {
        multi(complex($name, $description, &[
            string("value", $value_description),
            string("display", "A human-readable name, primarily used for display purposes."),
            canonical(string("type", "A label indicating the attribute's function."), &[$($canonical),*]),
            boolean("primary", "Whether this is the preferred value of the attribute."),
        ]))
    };
}

pub static USER_ATTRIBUTES: &[AttrDef] = &[
    AttrDef {
        required: true,
        uniqueness: Uniqueness::Server,
        ..string(
            "userName",
            "Unique identifier for the User, typically used to directly authenticate to the service provider. Unique per tenant regardless of case.",
        )
    },
    complex(
        "name",
        "The components of the user's real name.",
        &[
            string("formatted", "The full name, formatted for display."),
            string("familyName", "The family name of the User."),
            string("givenName", "The given name of the User."),
            string("middleName", "The middle name(s) of the User."),
            string("honorificPrefix", "The honorific prefix(es) of the User."),
            string("honorificSuffix", "The honorific suffix(es) of the User."),
        ],
    ),
    string(
        "displayName",
        "The name of the User, suitable for display to end-users.",
    ),
    string(
        "nickName",
        "The casual way to address the user in real life.",
    ),
    with_type(
        string(
            "profileUrl",
            "A fully qualified URL pointing to a page representing the User's online profile.",
        ),
        AttrType::Reference,
    ),
    string("title", "The user's title, such as \"Vice President\"."),
    string(
        "userType",
        "Used to identify the relationship between the organization and the user.",
    ),
    string(
        "preferredLanguage",
        "Indicates the User's preferred written or spoken language.",
    ),
    string(
        "locale",
        "Used to indicate the User's default location for purposes of localizing items.",
    ),
    string(
        "timezone",
        "The User's time zone in the \"Olson\" time zone database format.",
    ),
    boolean(
        "active",
        "A Boolean value indicating the User's administrative status. Inactive users stay readable and hold no permissions.",
    ),
    multi_valued_string!(
        "emails",
        "Email addresses for the user.",
        "Email address for the User.",
        ["work", "home", "other"]
    ),
    multi_valued_string!(
        "phoneNumbers",
        "Phone numbers for the User.",
        "Phone number of the User.",
        ["work", "home", "mobile", "fax", "pager", "other"]
    ),
    multi_valued_string!(
        "ims",
        "Instant messaging addresses for the User.",
        "Instant messaging address for the User.",
        []
    ),
    multi_valued_string!(
        "photos",
        "URLs of photos of the User.",
        "URL of a photo of the User.",
        ["photo", "thumbnail"]
    ),
    multi(complex(
        "addresses",
        "A physical mailing address for this User.",
        &[
            string(
                "formatted",
                "The full mailing address, formatted for display.",
            ),
            string("streetAddress", "The full street address component."),
            string("locality", "The city or locality component."),
            string("region", "The state or region component."),
            string("postalCode", "The zip code or postal code component."),
            string("country", "The country name component."),
            canonical(
                string("type", "A label indicating the attribute's function."),
                &["work", "home", "other"],
            ),
            boolean("primary", "Whether this is the preferred mailing address."),
        ],
    )),
    read_only(multi(complex(
        "groups",
        "The groups the user belongs to, read-only: membership is changed on the Group.",
        &[
            read_only(string("value", "The id of the Group.")),
            read_only(reference("$ref", "The URI of the Group.", &["Group"])),
            read_only(string("display", "The displayName of the Group.")),
            read_only(canonical(
                string("type", "How the membership was derived."),
                &["direct"],
            )),
        ],
    ))),
    multi_valued_string!(
        "entitlements",
        "A list of entitlements for the User.",
        "The value of an entitlement.",
        []
    ),
    multi_valued_string!(
        "roles",
        "A list of roles for the User.",
        "The value of a role.",
        []
    ),
    multi_valued_string!(
        "x509Certificates",
        "A list of certificates issued to the User.",
        "The value of an X.509 certificate.",
        []
    ),
];

pub static ENTERPRISE_USER_ATTRIBUTES: &[AttrDef] = &[
    string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person.",
    ),
    string("costCenter", "Identifies the name of a cost center."),
    string("organization", "Identifies the name of an organization."),
    string("division", "Identifies the name of a division."),
    string("department", "Identifies the name of a department."),
    complex(
        "manager",
        "The User's manager.",
        &[
            string(
                "value",
                "The id of the SCIM resource representing the User's manager.",
            ),
            reference(
                "$ref",
                "The URI of the SCIM resource representing the User's manager.",
                &["User"],
            ),
            read_only(string(
                "displayName",
                "The displayName of the User's manager.",
            )),
        ],
    ),
];

pub static GROUP_ATTRIBUTES: &[AttrDef] = &[
    AttrDef {
        required: true,
        uniqueness: Uniqueness::Server,
        ..string(
            "displayName",
            "A human-readable name for the Group, unique per tenant regardless of case.",
        )
    },
    multi(complex(
        "members",
        "A list of members of the Group (users).",
        &[
            AttrDef {
                mutability: Mutability::Immutable,
                ..string("value", "The id of the member User.")
            },
            AttrDef {
                mutability: Mutability::Immutable,
                ..reference("$ref", "The URI of the member User.", &["User"])
            },
            AttrDef {
                mutability: Mutability::Immutable,
                ..canonical(string("type", "The type of the member."), &["User"])
            },
        ],
    )),
];

/// `externalId`, common to every resource (RFC 7643 §3.1) and outside every schema's list.
pub static EXTERNAL_ID: AttrDef = AttrDef {
    case_exact: true,
    ..string(
        "externalId",
        "Identifier of the resource as defined by the provisioning client.",
    )
};

/// A schema we serve.
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttrDef],
}

pub static USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: USER_ATTRIBUTES,
};

pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_USER_ATTRIBUTES,
};

pub static GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: GROUP_ATTRIBUTES,
};

pub static ALL: [&SchemaDef; 3] = [&USER, &GROUP, &ENTERPRISE_USER];

impl SchemaDef {
    pub fn attribute(&self, name: &str) -> Option<&'static AttrDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case() {
        assert_eq!(USER.attribute("USERNAME").unwrap().name, "userName");
        assert_eq!(
            USER.attribute("emails").unwrap().sub("VALUE").unwrap().name,
            "value"
        );
        assert!(
            USER.attribute("password").is_none(),
            "we store no passwords"
        );
        assert_eq!(
            ENTERPRISE_USER
                .attribute("manager")
                .unwrap()
                .sub("$ref")
                .unwrap()
                .ty,
            AttrType::Reference
        );
    }

    #[test]
    fn characteristics_that_clients_rely_on() {
        let user_name = USER.attribute("userName").unwrap();
        assert!(user_name.required && !user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        assert_eq!(
            USER.attribute("groups").unwrap().mutability,
            Mutability::ReadOnly
        );
        assert!(GROUP.attribute("displayName").unwrap().required);
        assert!(EXTERNAL_ID.case_exact, "externalId is caseExact");
    }
}
