//! The permission screens' state: synced groups and users (paged from the API as the
//! operator scrolls), the tenant's products and permission groups, the editors, and the
//! changes that are previewed before they are saved.

use std::collections::BTreeSet;

use crate::api::{
    AccessType, EffectivePermissions, MappingInput, Permission, PermissionGroup,
    PermissionGroupInput, PermissionPreview, Product, SyncedGroup,
};

/// Rows from the end of what is loaded at which the next page is asked for.
pub const PREFETCH: usize = 20;

/// A list read page by page: what is loaded, and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    pub loading: bool,
    /// The number of the request whose answer is awaited (0: none asked since the reset).
    pub request: u64,
    pub error: Option<String>,
    /// The name filter the items answer.
    pub search: String,
    pub cursor: usize,
}

impl<T> Default for Paged<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            next: None,
            loading: true,
            request: 0,
            error: None,
            search: String::new(),
            cursor: 0,
        }
    }
}

impl<T> Paged<T> {
    /// Starts over (a new search or tenant); the caller asks for the first page.
    pub fn reset(&mut self, search: String) {
        *self = Self {
            search,
            ..Self::default()
        };
    }

    /// A page was asked for under number `request`.
    pub fn ask(&mut self, request: u64) {
        self.loading = true;
        self.request = request;
    }

    /// Whether the answer to `request` is the one this list waits for (not one to an
    /// earlier search or scroll, which would add its rows twice).
    pub fn awaits(&self, request: u64) -> bool {
        self.loading && self.request == request
    }

    pub fn selected(&self) -> Option<&T> {
        self.items.get(self.cursor)
    }

    /// Whether the cursor is near enough the end that the next page is wanted now.
    /// The first page, until it is asked for, is always wanted. After a failed page
    /// nothing is asked by itself (it would fail again at once): `r` starts over.
    pub fn wants_more(&self) -> bool {
        let first = self.request == 0;
        first
            || (!self.loading
                && self.error.is_none()
                && self.next.is_some()
                && self.cursor + PREFETCH >= self.items.len())
    }
}

/// The tenant's products with their permission groups, and the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    pub products: Vec<(Product, Vec<PermissionGroup>)>,
    pub catalog: Vec<Permission>,
}

impl Model {
    pub fn permission_group(&self, id: &str) -> Option<(&Product, &PermissionGroup)> {
        self.products.iter().find_map(|(product, groups)| {
            groups
                .iter()
                .find(|group| group.id == id)
                .map(|group| (product, group))
        })
    }

    /// The rows of the products screen: each product, then its permission groups.
    pub fn rows(&self) -> Vec<ProductRow<'_>> {
        self.products
            .iter()
            .flat_map(|(product, groups)| {
                std::iter::once(ProductRow::Product(product))
                    .chain(groups.iter().map(move |g| ProductRow::Group(product, g)))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductRow<'a> {
    Product(&'a Product),
    Group(&'a Product, &'a PermissionGroup),
}

/// A change to the permission model that is previewed first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Map {
        group: String,
        input: MappingInput,
    },
    Unmap {
        group: String,
    },
    /// Move a mapped group up (negative) or down in the priority order; the runtime
    /// reads the current order and answers with `Priority`.
    Move {
        group: String,
        by: isize,
    },
    Priority {
        order: Vec<String>,
    },
}

/// Editing a synced group's mapping: roles, and one permission group per product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingEditor {
    pub group_id: String,
    pub group_name: String,
    pub organization_admin: bool,
    pub billing_manager: bool,
    /// Per product (in the model's order): the permission group chosen, if any.
    pub choices: Vec<(String, Option<String>)>,
    pub row: usize,
    /// The mapping as it was opened, to tell whether anything changed.
    pub original: MappingInput,
}

impl MappingEditor {
    pub fn new(group: &SyncedGroup, model: &Model) -> Self {
        let mapping = group.mapping.as_ref();
        let chosen = mapping.map_or(&[][..], |m| m.permission_group_ids.as_slice());
        let mut editor = Self {
            group_id: group.id.clone(),
            group_name: group.display_name.clone(),
            organization_admin: mapping.is_some_and(|m| m.is_organization_admin),
            billing_manager: mapping.is_some_and(|m| m.is_billing_manager),
            choices: model
                .products
                .iter()
                .map(|(product, groups)| {
                    let pick = groups
                        .iter()
                        .find(|g| chosen.contains(&g.id))
                        .map(|g| g.id.clone());
                    (product.id.clone(), pick)
                })
                .collect(),
            row: 0,
            original: MappingInput::default(),
        };
        editor.original = editor.input();
        editor
    }

    pub fn is_changed(&self) -> bool {
        self.input() != self.original
    }

    pub fn rows(&self) -> usize {
        2 + self.choices.len()
    }

    /// Space, ← or →: flips a role, or moves a product's choice through "none" and its
    /// permission groups.
    pub fn change(&mut self, model: &Model, step: isize) {
        match self.row {
            0 => self.organization_admin = !self.organization_admin,
            1 => self.billing_manager = !self.billing_manager,
            row => {
                let Some((product_id, choice)) = self.choices.get_mut(row - 2) else {
                    return;
                };
                let Some((_, groups)) = model.products.iter().find(|(p, _)| &p.id == product_id)
                else {
                    return;
                };
                // Position 0 is "none", then the product's groups.
                let at = choice
                    .as_ref()
                    .and_then(|id| groups.iter().position(|g| &g.id == id))
                    .map_or(0, |at| at + 1);
                let next = (at as isize + step).rem_euclid(groups.len() as isize + 1) as usize;
                *choice = next.checked_sub(1).map(|at| groups[at].id.clone());
            }
        }
    }

    pub fn input(&self) -> MappingInput {
        MappingInput {
            is_organization_admin: self.organization_admin,
            is_billing_manager: self.billing_manager,
            permission_group_ids: self.choices.iter().filter_map(|(_, c)| c.clone()).collect(),
        }
    }
}

/// Creating or editing a permission group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEditor {
    pub product_id: String,
    /// `None` while creating.
    pub id: Option<String>,
    pub name: String,
    pub access: AccessType,
    pub permissions: BTreeSet<String>,
    /// 0 the name, 1 the access type, then the catalog's permissions.
    pub row: usize,
    /// What the dialog opened with, to tell whether anything changed.
    pub original: PermissionGroupInput,
}

impl GroupEditor {
    pub fn create(product_id: String) -> Self {
        Self::opened(Self {
            product_id,
            id: None,
            name: String::new(),
            access: AccessType::ReadOnly,
            permissions: BTreeSet::new(),
            row: 0,
            original: PermissionGroupInput::default(),
        })
    }

    pub fn edit(group: &PermissionGroup) -> Self {
        Self::opened(Self {
            product_id: group.product_id.clone(),
            id: Some(group.id.clone()),
            name: group.name.clone(),
            access: group.access_type,
            permissions: group.permissions.iter().cloned().collect(),
            row: 0,
            original: PermissionGroupInput::default(),
        })
    }

    fn opened(mut self) -> Self {
        self.original = self.input();
        self
    }

    pub fn is_changed(&self) -> bool {
        self.input() != self.original
    }

    /// The rows the cursor can reach: the catalog only for the custom access type.
    pub fn rows(&self, catalog_len: usize) -> usize {
        if self.access == AccessType::Custom {
            2 + catalog_len
        } else {
            2
        }
    }

    pub fn cycle_access(&mut self) {
        self.access = match self.access {
            AccessType::ReadOnly => AccessType::Full,
            AccessType::Full => AccessType::Custom,
            AccessType::Custom => AccessType::ReadOnly,
        };
    }

    pub fn toggle(&mut self, name: &str) {
        if !self.permissions.remove(name) {
            self.permissions.insert(name.to_owned());
        }
    }

    pub fn input(&self) -> PermissionGroupInput {
        PermissionGroupInput {
            name: self.name.trim().to_owned(),
            access_type: self.access,
            permissions: if self.access == AccessType::Custom {
                self.permissions.iter().cloned().collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// A user's permissions, with the rows of the grants that name a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDetail {
    pub permissions: EffectivePermissions,
    /// Which grant's request `l` jumps to.
    pub grant: usize,
}

impl UserDetail {
    /// Every grant that names the SCIM request that added its membership, in display order.
    pub fn requests(&self) -> Vec<&str> {
        let p = &self.permissions;
        p.organization_admin_via
            .iter()
            .chain(&p.billing_manager_via)
            .chain(p.products.iter().map(|product| &product.granted_by))
            .filter_map(|source| source.added_by_request_id.as_deref())
            .collect()
    }
}

/// What is previewed and waits for a yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub change: Change,
    pub preview: PermissionPreview,
}
