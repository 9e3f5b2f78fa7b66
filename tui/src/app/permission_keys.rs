//! Keys of the permission screens (groups, users, products) and of their dialogs.

use crossterm::event::{KeyCode, KeyEvent};

use super::{
    App, Cmd, Deletion, Loadable, Modal, Screen,
    keys::{edit, moved, movement},
    log::Detail,
    permissions::{Change, GroupEditor, MappingEditor, Pending, ProductRow},
};
use crate::api::AccessType;

impl App {
    fn tenant_id(&self) -> Option<String> {
        self.tenant.as_ref().map(|t| t.id.clone())
    }

    pub(super) fn groups_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if let Some(delta) = movement(key.code) {
            self.groups.cursor = moved(self.groups.cursor, delta, self.groups.items.len());
            return self.more_groups();
        }
        let Some(tenant) = self.tenant_id() else {
            return Vec::new();
        };
        let selected = self.groups.selected().cloned();
        match key.code {
            KeyCode::Esc => self.close_tenant(),
            KeyCode::Char('/') => {
                self.modal = Some(Modal::Search {
                    screen: Screen::Groups,
                    text: self.groups.search.clone(),
                });
                Vec::new()
            }
            KeyCode::Char('r') => self.refresh(),
            KeyCode::Enter | KeyCode::Char('e') => {
                let (Some(group), Some(model)) = (selected, self.model.loaded()) else {
                    return Vec::new();
                };
                self.modal = Some(Modal::Mapping(MappingEditor::new(&group, model)));
                Vec::new()
            }
            KeyCode::Char('u') => match selected {
                Some(group) if group.mapping.is_some() => {
                    self.pending = Some("Previewing");
                    self.reopen = None;
                    vec![Cmd::Preview {
                        tenant,
                        change: Change::Unmap { group: group.id },
                    }]
                }
                Some(_) => {
                    self.inform("That group is not mapped".to_owned());
                    Vec::new()
                }
                None => Vec::new(),
            },
            KeyCode::Char(c @ ('K' | 'J' | '+' | '-')) => match selected {
                Some(group) if group.mapping.is_some() => {
                    self.pending = Some("Previewing");
                    self.reopen = None;
                    let by = if matches!(c, 'K' | '+') { -1 } else { 1 };
                    vec![Cmd::Preview {
                        tenant,
                        change: Change::Move {
                            group: group.id,
                            by,
                        },
                    }]
                }
                Some(_) => {
                    self.inform("Only mapped groups have a priority; map it first".to_owned());
                    Vec::new()
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    pub(super) fn users_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let Some(tenant) = self.tenant_id() else {
            return Vec::new();
        };
        if let Some(Loadable::Loaded(detail)) = &mut self.user_detail {
            let requests = detail.requests();
            match key.code {
                KeyCode::Esc => self.user_detail = None,
                KeyCode::Up | KeyCode::Char('k') => detail.grant = detail.grant.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => {
                    detail.grant = (detail.grant + 1).min(requests.len().saturating_sub(1));
                }
                KeyCode::Char('l') | KeyCode::Enter => {
                    let Some(request_id) = requests.get(detail.grant).map(|r| (*r).to_owned())
                    else {
                        self.inform("No grant here names the request that gave it".to_owned());
                        return Vec::new();
                    };
                    self.screen = Screen::Log;
                    self.log.detail = Some(Detail::Finding(request_id.clone()));
                    self.log.detail_scroll = 0;
                    // The list behind the detail highlights it too, now or when it arrives.
                    self.log.wanted_request = Some(request_id.clone());
                    self.log.select_wanted();
                    return vec![Cmd::FindRequest { tenant, request_id }];
                }
                _ => {}
            }
            return Vec::new();
        }
        if self.user_detail.is_some() {
            if key.code == KeyCode::Esc {
                self.user_detail = None;
            }
            return Vec::new();
        }
        if let Some(delta) = movement(key.code) {
            self.users.cursor = moved(self.users.cursor, delta, self.users.items.len());
            return self.more_users();
        }
        match key.code {
            KeyCode::Esc => self.close_tenant(),
            KeyCode::Char('/') => {
                self.modal = Some(Modal::Search {
                    screen: Screen::Users,
                    text: self.users.search.clone(),
                });
                Vec::new()
            }
            KeyCode::Char('r') => self.refresh(),
            KeyCode::Enter => match self.users.selected() {
                Some(user) => {
                    let user = user.id.clone();
                    self.user_detail = Some(Loadable::Loading);
                    vec![Cmd::LoadUserPermissions { tenant, user }]
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    pub(super) fn products_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let Some(model) = self.model.loaded() else {
            return match key.code {
                KeyCode::Esc => self.close_tenant(),
                KeyCode::Char('r') => self.refresh(),
                _ => Vec::new(),
            };
        };
        let rows = model.rows();
        if let Some(delta) = movement(key.code) {
            self.product_cursor = moved(self.product_cursor, delta, rows.len());
            return Vec::new();
        }
        let selected = rows.get(self.product_cursor).copied();
        let modal = match (key.code, selected) {
            (KeyCode::Esc, _) => return self.close_tenant(),
            (KeyCode::Char('r'), _) => return self.refresh(),
            (KeyCode::Char('n'), _) => Some(Modal::CreateProduct {
                name: String::new(),
            }),
            (KeyCode::Char('a'), Some(ProductRow::Product(p) | ProductRow::Group(p, _))) => Some(
                Modal::PermissionGroup(Box::new(GroupEditor::create(p.id.clone()))),
            ),
            (KeyCode::Enter | KeyCode::Char('e'), Some(ProductRow::Group(_, group))) => {
                Some(Modal::PermissionGroup(Box::new(GroupEditor::edit(group))))
            }
            (KeyCode::Char('d') | KeyCode::Delete, Some(ProductRow::Product(p))) => {
                Some(Modal::ConfirmDelete(Deletion::Product {
                    id: p.id.clone(),
                    name: p.name.clone(),
                }))
            }
            (KeyCode::Char('d') | KeyCode::Delete, Some(ProductRow::Group(p, group))) => {
                Some(Modal::ConfirmDelete(Deletion::PermissionGroup {
                    product: p.id.clone(),
                    id: group.id.clone(),
                    name: group.name.clone(),
                }))
            }
            _ => None,
        };
        self.modal = modal;
        Vec::new()
    }

    /// The permission dialogs' keys; gives `modal` back if it is not one of them.
    pub(super) fn permission_modal_key(
        &mut self,
        modal: Modal,
        key: KeyEvent,
    ) -> Result<Vec<Cmd>, Modal> {
        let ours = matches!(
            modal,
            Modal::Search { .. }
                | Modal::Mapping(_)
                | Modal::Discard { .. }
                | Modal::Preview(_)
                | Modal::CreateProduct { .. }
                | Modal::PermissionGroup(_)
                | Modal::ConfirmDelete(_)
        );
        if !ours {
            return Err(modal);
        }
        // The tenant list filters what it holds, as you type; Esc clears it.
        if let Modal::Search {
            screen: Screen::Tenants,
            mut text,
        } = modal
        {
            match key.code {
                KeyCode::Esc => self.tenant_filter.clear(),
                KeyCode::Enter => {}
                _ => {
                    edit(&mut text, key);
                    self.tenant_filter = text.clone();
                    self.modal = Some(Modal::Search {
                        screen: Screen::Tenants,
                        text,
                    });
                }
            }
            self.tenant_cursor = 0;
            return Ok(Vec::new());
        }
        let Some(tenant) = self.tenant_id() else {
            return Ok(Vec::new());
        };
        match modal {
            Modal::Search { screen, mut text } => match key.code {
                KeyCode::Esc => {}
                KeyCode::Enter => {
                    return Ok(match screen {
                        Screen::Users => self.search_users(text),
                        _ => self.search_groups(text),
                    });
                }
                _ => {
                    edit(&mut text, key);
                    self.modal = Some(Modal::Search { screen, text });
                }
            },
            Modal::Mapping(editor) if leaves(key) && editor.is_changed() => {
                self.modal = Some(Modal::Discard {
                    editor: Box::new(Modal::Mapping(editor)),
                    quit: key.code == KeyCode::Char('q'),
                });
            }
            Modal::Mapping(mut editor) => match key.code {
                KeyCode::Esc => {}
                KeyCode::Char('q') => self.quitting = true,
                KeyCode::Enter => {
                    self.pending = Some("Previewing");
                    // Back to the editor, the edits kept, on `n` or a failure.
                    self.reopen = Some(Modal::Mapping(editor.clone()));
                    return Ok(vec![Cmd::Preview {
                        tenant,
                        change: Change::Map {
                            group: editor.group_id.clone(),
                            input: editor.input(),
                        },
                    }]);
                }
                code => {
                    match code {
                        KeyCode::Up | KeyCode::Char('k') => {
                            editor.row = editor.row.saturating_sub(1)
                        }
                        KeyCode::Down | KeyCode::Char('j') => {
                            editor.row = (editor.row + 1).min(editor.rows() - 1);
                        }
                        KeyCode::Char(' ') | KeyCode::Right | KeyCode::Char('l') => {
                            if let Some(model) = self.model.loaded() {
                                editor.change(model, 1);
                            }
                        }
                        KeyCode::Left | KeyCode::Char('h') => {
                            if let Some(model) = self.model.loaded() {
                                editor.change(model, -1);
                            }
                        }
                        _ => {}
                    }
                    self.modal = Some(Modal::Mapping(editor));
                }
            },
            Modal::Preview(Pending { change, preview }) => match key.code {
                KeyCode::Char('y') => {
                    self.pending = Some("Saving");
                    return Ok(vec![Cmd::Apply { tenant, change }]);
                }
                KeyCode::Char('n') | KeyCode::Esc => self.modal = self.reopen.take(),
                _ => self.modal = Some(Modal::Preview(Pending { change, preview })),
            },
            Modal::CreateProduct { mut name } => match key.code {
                KeyCode::Esc => {}
                KeyCode::Enter if !name.trim().is_empty() => {
                    self.pending = Some("Creating the product");
                    self.reopen = Some(Modal::CreateProduct { name: name.clone() });
                    return Ok(vec![Cmd::CreateProduct {
                        tenant,
                        name: name.trim().to_owned(),
                    }]);
                }
                _ => {
                    edit(&mut name, key);
                    self.modal = Some(Modal::CreateProduct { name });
                }
            },
            Modal::PermissionGroup(editor)
                if leaves(key) && editor.row > 0 && editor.is_changed() =>
            {
                self.modal = Some(Modal::Discard {
                    editor: Box::new(Modal::PermissionGroup(editor)),
                    quit: key.code == KeyCode::Char('q'),
                });
            }
            Modal::PermissionGroup(editor) if key.code == KeyCode::Esc && editor.is_changed() => {
                self.modal = Some(Modal::Discard {
                    editor: Box::new(Modal::PermissionGroup(editor)),
                    quit: false,
                });
            }
            Modal::PermissionGroup(mut editor) => {
                let catalog_len = self.model.loaded().map_or(0, |m| m.catalog.len());
                match key.code {
                    KeyCode::Esc => return Ok(Vec::new()),
                    KeyCode::Char('q') if editor.row > 0 => {
                        self.quitting = true;
                        return Ok(Vec::new());
                    }
                    KeyCode::Enter if editor.name.trim().is_empty() => {
                        self.notice = Some(super::Notice {
                            text: "Give the permission group a name first".to_owned(),
                            error: true,
                        });
                        editor.row = 0;
                    }
                    KeyCode::Enter => {
                        self.pending = Some("Saving the permission group");
                        self.reopen = Some(Modal::PermissionGroup(editor.clone()));
                        return Ok(vec![Cmd::SavePermissionGroup {
                            tenant,
                            product: editor.product_id.clone(),
                            id: editor.id.clone(),
                            input: editor.input(),
                        }]);
                    }
                    KeyCode::Up => editor.row = editor.row.saturating_sub(1),
                    KeyCode::Down => {
                        editor.row = (editor.row + 1).min(editor.rows(catalog_len) - 1);
                    }
                    _ if editor.row == 0 => edit(&mut editor.name, key),
                    KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right if editor.row == 1 => {
                        editor.cycle_access();
                    }
                    KeyCode::Char(' ') => {
                        if editor.access != AccessType::Custom {
                            self.inform(
                                "Permissions are picked for the custom access type only".to_owned(),
                            );
                        } else if let Some(permission) = self
                            .model
                            .loaded()
                            .and_then(|m| m.catalog.get(editor.row - 2))
                        {
                            let name = permission.name.clone();
                            editor.toggle(&name);
                        }
                    }
                    _ => {}
                }
                self.modal = Some(Modal::PermissionGroup(editor));
            }
            Modal::Discard { editor, quit } => match key.code {
                KeyCode::Char('y') => self.quitting = quit,
                KeyCode::Char('n') | KeyCode::Esc => self.modal = Some(*editor),
                _ => self.modal = Some(Modal::Discard { editor, quit }),
            },
            Modal::ConfirmDelete(what) => match key.code {
                KeyCode::Char('y') => {
                    self.pending = Some("Deleting");
                    return Ok(vec![Cmd::Delete { tenant, what }]);
                }
                KeyCode::Char('n') | KeyCode::Esc => {}
                _ => self.modal = Some(Modal::ConfirmDelete(what)),
            },
            other => return Err(other),
        }
        Ok(Vec::new())
    }
}

/// Esc or `q`: keys that would leave an editor (and `q` the dashboard).
fn leaves(key: KeyEvent) -> bool {
    matches!(key.code, KeyCode::Esc | KeyCode::Char('q'))
}
