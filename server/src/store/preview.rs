//! Previews of mapping and priority changes (`?dryRun=true`): the change is rehearsed with
//! the code that would make it, inside a transaction that is then rolled back, and the
//! holdings of every user it can touch are compared before and after. Nothing is written,
//! and the preview cannot disagree with the change it previews.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Storage,
    audit::Actor,
    effective::{self, HeldProduct, Holding, Scope},
    mappings::{self, MappingSpec},
    tenants,
};
use crate::error::Error;

/// A change to preview.
#[derive(Debug, Clone)]
pub enum Proposal {
    Map { group_id: String, spec: MappingSpec },
    Unmap { group_id: String },
    Reorder { group_ids: Vec<String> },
}

/// A role a user gains or loses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    OrganizationAdmin,
    BillingManager,
}

/// How one product's grant changes for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductShift {
    pub product_id: String,
    pub product_name: String,
    pub permission_group_before: Option<String>,
    pub permission_group_after: Option<String>,
    pub gained: Vec<String>,
    pub lost: Vec<String>,
}

/// How a user's permissions change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub user_id: String,
    pub user_name: String,
    pub roles_gained: Vec<Role>,
    pub roles_lost: Vec<Role>,
    pub products: Vec<ProductShift>,
}

#[derive(Debug, Clone)]
pub struct Preview {
    /// Active users the change could touch (members of the group, or of any mapped group).
    pub users_considered: usize,
    /// The users whose permissions change, by user name.
    pub shifts: Vec<Shift>,
}

/// What `proposal` would change, without changing it. Invalid proposals fail exactly as
/// the change itself would.
pub async fn preview(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    proposal: Proposal,
) -> Result<Preview, Error> {
    let tenant_id = tenant_id.to_owned();
    let max_mapped = db.limits().mapped_groups;
    let (before, after) = db
        .rehearse(move |txn| {
            Box::pin(async move {
                let scope = match &proposal {
                    Proposal::Map { group_id, .. } | Proposal::Unmap { group_id } => {
                        Scope::MembersOf(group_id)
                    }
                    Proposal::Reorder { .. } => Scope::Tenant,
                };
                // Mapping changes of the tenant wait for this one, as for the change itself.
                tenants::lock(txn, &tenant_id).await?;
                let before = effective::holding_rows(txn, &tenant_id, scope).await?;
                match &proposal {
                    Proposal::Map { group_id, spec } => {
                        mappings::put_in(
                            txn,
                            &actor,
                            &tenant_id,
                            group_id,
                            spec.clone(),
                            max_mapped,
                        )
                        .await?;
                    }
                    Proposal::Unmap { group_id } => {
                        mappings::delete_in(txn, &actor, &tenant_id, group_id).await?;
                    }
                    Proposal::Reorder { group_ids } => {
                        mappings::reorder_in(txn, &actor, &tenant_id, group_ids.clone()).await?;
                    }
                }
                let after = effective::holding_rows(txn, &tenant_id, scope).await?;
                Ok((before, after))
            })
        })
        .await?;
    let (before, after) = (before.resolve(), after.resolve());
    Ok(compare(before, after))
}

/// The users whose holdings differ between `before` and `after`.
fn compare(mut before: BTreeMap<String, Holding>, mut after: BTreeMap<String, Holding>) -> Preview {
    let mut users: BTreeSet<String> = before.keys().cloned().collect();
    users.extend(after.keys().cloned());
    let users_considered = users.len();
    let mut shifts: Vec<Shift> = users
        .into_iter()
        .filter_map(|user_id| {
            let was = before.remove(&user_id).unwrap_or_default();
            let will = after.remove(&user_id).unwrap_or_default();
            shift(user_id, was, will)
        })
        .collect();
    shifts.sort_by(|a, b| (&a.user_name, &a.user_id).cmp(&(&b.user_name, &b.user_id)));
    Preview {
        users_considered,
        shifts,
    }
}

fn shift(user_id: String, was: Holding, will: Holding) -> Option<Shift> {
    // A user in mapped groups that give nothing holds as little as one in none.
    if (was.organization_admin, was.billing_manager, &was.products)
        == (
            will.organization_admin,
            will.billing_manager,
            &will.products,
        )
    {
        return None;
    }
    let roles = |holding: &Holding| -> BTreeSet<Role> {
        [
            (holding.organization_admin, Role::OrganizationAdmin),
            (holding.billing_manager, Role::BillingManager),
        ]
        .into_iter()
        .filter_map(|(held, role)| held.then_some(role))
        .collect()
    };
    let (roles_was, roles_will) = (roles(&was), roles(&will));
    let mut product_ids: BTreeSet<&String> = was.products.keys().collect();
    product_ids.extend(will.products.keys());
    let mut products: Vec<ProductShift> = product_ids
        .into_iter()
        .filter_map(|product_id| {
            let (a, b) = (was.products.get(product_id), will.products.get(product_id));
            if a == b {
                return None;
            }
            let empty = HeldProduct::default();
            let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
            Some(ProductShift {
                product_id: product_id.clone(),
                product_name: if b.product_name.is_empty() {
                    a.product_name.clone()
                } else {
                    b.product_name.clone()
                },
                permission_group_before: a.permission_group_id.clone(),
                permission_group_after: b.permission_group_id.clone(),
                gained: b.permissions.difference(&a.permissions).cloned().collect(),
                lost: a.permissions.difference(&b.permissions).cloned().collect(),
            })
        })
        .collect();
    products.sort_by(|a, b| {
        (a.product_name.to_lowercase(), &a.product_id)
            .cmp(&(b.product_name.to_lowercase(), &b.product_id))
    });
    Some(Shift {
        user_id,
        user_name: if will.user_name.is_empty() {
            was.user_name
        } else {
            will.user_name
        },
        roles_gained: roles_will.difference(&roles_was).copied().collect(),
        roles_lost: roles_was.difference(&roles_will).copied().collect(),
        products,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(group: Option<&str>, permissions: &[&str]) -> HeldProduct {
        HeldProduct {
            product_name: "Product".into(),
            permission_group_id: group.map(str::to_owned),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn holding(admin: bool, products: &[(&str, HeldProduct)]) -> Holding {
        Holding {
            user_name: "ada".into(),
            organization_admin: admin,
            billing_manager: false,
            products: products
                .iter()
                .map(|(id, p)| ((*id).to_owned(), p.clone()))
                .collect(),
        }
    }

    #[test]
    fn unchanged_users_are_left_out_and_changed_ones_say_what_moves() {
        let before = BTreeMap::from([
            (
                "u1".to_owned(),
                holding(false, &[("p", held(Some("readers"), &["a"]))]),
            ),
            (
                "u2".to_owned(),
                holding(false, &[("p", held(Some("readers"), &["a"]))]),
            ),
        ]);
        let after = BTreeMap::from([
            (
                "u1".to_owned(),
                holding(true, &[("p", held(Some("devs"), &["a", "b"]))]),
            ),
            (
                "u2".to_owned(),
                holding(false, &[("p", held(Some("readers"), &["a"]))]),
            ),
            (
                "u3".to_owned(),
                holding(false, &[("q", held(Some("x"), &["c"]))]),
            ),
        ]);
        let preview = compare(before, after);
        assert_eq!(preview.users_considered, 3);
        assert_eq!(preview.shifts.len(), 2, "{preview:?}");
        let u1 = preview.shifts.iter().find(|s| s.user_id == "u1").unwrap();
        assert_eq!(u1.roles_gained, vec![Role::OrganizationAdmin]);
        assert!(u1.roles_lost.is_empty());
        assert_eq!(
            u1.products[0].permission_group_before.as_deref(),
            Some("readers")
        );
        assert_eq!(
            u1.products[0].permission_group_after.as_deref(),
            Some("devs")
        );
        assert_eq!(u1.products[0].gained, vec!["b".to_owned()]);
        assert!(u1.products[0].lost.is_empty());
        let u3 = preview.shifts.iter().find(|s| s.user_id == "u3").unwrap();
        assert_eq!(u3.products[0].permission_group_before, None);
        assert_eq!(u3.products[0].gained, vec!["c".to_owned()]);
    }
}
