//! What each key does, by who has the keys: the connection screen, the help overlay, a
//! dialog, or the current screen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{
    App, Cmd, Connection, Modal, OVERLAPS, RotateForm, RotateMode, Screen,
    log::{Detail, Filter},
};
use crate::api::{CredentialStatus, Secret};

/// Longest text a prompt takes (the server's limit for names).
const INPUT_MAX: usize = 200;
/// Rows a page key moves.
const PAGE: isize = 10;

impl App {
    pub(super) fn key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quitting = true;
            return Vec::new();
        }
        self.notice = None;
        let quit_asked = std::mem::take(&mut self.quit_asked);
        if !matches!(self.connection, Connection::Ready(_)) {
            return self.key_while_not_connected(key);
        }
        if self.show_help {
            if matches!(key.code, KeyCode::Char('?' | 'q') | KeyCode::Esc) {
                self.show_help = false;
            }
            return Vec::new();
        }
        if let Some(modal) = self.modal.take() {
            return self.modal_key(modal, key);
        }
        match key.code {
            KeyCode::Char('q') if self.pending.is_some() && !quit_asked => {
                self.quit_asked = true;
                self.inform("a change is on its way: q again quits without its answer".into());
                return Vec::new();
            }
            KeyCode::Char('q') => {
                self.quitting = true;
                return Vec::new();
            }
            KeyCode::Char('?') => {
                self.show_help = true;
                return Vec::new();
            }
            KeyCode::Tab => return self.switch(1),
            KeyCode::BackTab => return self.switch(-1),
            _ => {}
        }
        // One change at a time: a second one could open a dialog over the answer to the
        // first (a new token, shown once) or act on what the first is changing.
        if self.pending.is_some() && self.starts_change(key.code) {
            self.inform("one change at a time: wait for the server's answer".to_owned());
            return Vec::new();
        }
        match self.screen {
            Screen::Tenants => self.tenants_key(key),
            Screen::Overview => self.overview_key(key),
            Screen::Tokens => self.tokens_key(key),
            Screen::Log => self.log_key(key),
            Screen::Groups => self.groups_key(key),
            Screen::Users => self.users_key(key),
            Screen::Products => self.products_key(key),
        }
    }

    /// Whether `code` on this screen starts a change, or leaves the tenant a change is
    /// on its way for (its answer would then be dropped).
    fn starts_change(&self, code: KeyCode) -> bool {
        use KeyCode::{Char, Delete, Enter, Esc};
        match (self.screen, code) {
            (Screen::Tenants, Enter | Delete | Char('n' | 'd'))
            | (Screen::Overview, Char('R'))
            | (Screen::Tokens, Delete | Char('R' | 'n' | 'x' | 'd'))
            | (Screen::Groups, Enter | Char('e' | 'u' | 'K' | 'J' | '+' | '-'))
            | (Screen::Products, Enter | Delete | Char('n' | 'a' | 'e' | 'd')) => true,
            (Screen::Tenants, Esc) => false,
            (Screen::Log, Esc) => self.log.detail.is_none(),
            (Screen::Users, Esc) => self.user_detail.is_none(),
            (_, Esc) => true,
            _ => false,
        }
    }

    fn key_while_not_connected(&mut self, key: KeyEvent) -> Vec<Cmd> {
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => self.quitting = true,
            KeyCode::Char('r') if matches!(self.connection, Connection::Failed(_)) => {
                return self.start();
            }
            _ => {}
        }
        Vec::new()
    }

    fn switch(&mut self, step: isize) -> Vec<Cmd> {
        let screens = self.screens();
        let at = screens
            .iter()
            .position(|s| *s == self.screen)
            .unwrap_or_default();
        let next = at.checked_add_signed(step).map_or(screens.len() - 1, |n| {
            if n >= screens.len() { 0 } else { n }
        });
        self.screen = screens[next];
        self.refresh()
    }

    fn tenants_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let len = self.visible_tenants().len();
        if let Some(delta) = movement(key.code) {
            self.tenant_cursor = moved(self.tenant_cursor, delta, len);
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('/') => {
                self.modal = Some(Modal::Search {
                    screen: Screen::Tenants,
                    text: self.tenant_filter.clone(),
                });
                Vec::new()
            }
            KeyCode::Enter => match self.selected_tenant() {
                Some(row) => {
                    let tenant = row.tenant.clone();
                    self.open_tenant(tenant)
                }
                None => Vec::new(),
            },
            KeyCode::Char('n') if self.is_operator() => {
                self.modal = Some(Modal::CreateTenant {
                    name: String::new(),
                });
                Vec::new()
            }
            KeyCode::Char('d') | KeyCode::Delete if self.is_operator() => {
                if let Some(row) = self.selected_tenant() {
                    self.modal = Some(Modal::DeleteTenant {
                        id: row.tenant.id.clone(),
                        name: row.tenant.name.clone(),
                        typed: String::new(),
                    });
                }
                Vec::new()
            }
            KeyCode::Char('r') => vec![Cmd::LoadTenants],
            _ => Vec::new(),
        }
    }

    fn overview_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let url = self.tenant.as_ref().map(|t| t.scim_url.clone());
        match key.code {
            KeyCode::Esc => self.close_tenant(),
            KeyCode::Char('c') => match url.filter(|url| !url.is_empty()) {
                Some(url) => {
                    self.inform(
                        "Copied the SCIM URL (if your terminal allows OSC 52; else press p)"
                            .to_owned(),
                    );
                    vec![Cmd::Copy(Secret::new(url))]
                }
                None => Vec::new(),
            },
            KeyCode::Char('p') => {
                if let Some(url) = url.filter(|url| !url.is_empty()) {
                    self.print_on_exit = Some(url);
                    self.inform("The SCIM URL will be printed when you quit".to_owned());
                }
                Vec::new()
            }
            KeyCode::Char('R') => {
                self.modal = Some(Modal::Rotate(default_rotation()));
                Vec::new()
            }
            KeyCode::Char('r') => self.refresh(),
            _ => Vec::new(),
        }
    }

    fn tokens_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let len = self.detail.loaded().map_or(0, |d| d.tokens.len());
        if let Some(delta) = movement(key.code) {
            self.token_cursor = moved(self.token_cursor, delta, len);
            return Vec::new();
        }
        match key.code {
            KeyCode::Esc => self.close_tenant(),
            KeyCode::Char('R' | 'n') => {
                self.modal = Some(Modal::Rotate(default_rotation()));
                Vec::new()
            }
            KeyCode::Char('x' | 'd') | KeyCode::Delete => {
                match self.selected_token() {
                    Some(token)
                        if matches!(
                            token.status,
                            CredentialStatus::Active | CredentialStatus::Rotating
                        ) =>
                    {
                        self.modal = Some(Modal::ConfirmRevoke {
                            token_id: token.id.clone(),
                        });
                    }
                    Some(_) => self.inform("That token already stopped working".to_owned()),
                    None => {}
                }
                Vec::new()
            }
            KeyCode::Char('r') => self.refresh(),
            _ => Vec::new(),
        }
    }

    fn log_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let log = &mut self.log;
        if log.detail.is_some() {
            if matches!(key.code, KeyCode::Esc | KeyCode::Enter) {
                log.detail = None;
                log.detail_scroll = 0;
                return Vec::new();
            }
            let last = log.detail_max_scroll.get();
            let scroll = log.detail_scroll;
            log.detail_scroll = match key.code {
                KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
                KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                KeyCode::PageDown => scroll.saturating_add(PAGE as u16),
                KeyCode::PageUp => scroll.saturating_sub(PAGE as u16),
                KeyCode::Home | KeyCode::Char('g') => 0,
                KeyCode::End | KeyCode::Char('G') => last,
                _ => scroll,
            }
            .min(last);
            return Vec::new();
        }
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => log.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => log.move_by(1),
            KeyCode::PageUp => log.move_by(-PAGE),
            KeyCode::PageDown => log.move_by(PAGE),
            KeyCode::Home | KeyCode::Char('g') => log.top(),
            KeyCode::End | KeyCode::Char('G') => log.follow(),
            KeyCode::Char(' ' | 'p') => log.toggle_pause(),
            KeyCode::Char('s') => {
                log.filter.cycle_status();
                log.filter_changed();
            }
            KeyCode::Char('o') => {
                log.filter.cycle_operation();
                log.filter_changed();
            }
            KeyCode::Char('i') => {
                log.filter.cycle_idp();
                log.filter_changed();
            }
            KeyCode::Char('x') => {
                log.filter = Filter::default();
                log.filter_changed();
            }
            KeyCode::Char('/') => {
                self.modal = Some(Modal::LogText {
                    text: log.filter.text.clone(),
                });
            }
            KeyCode::Enter => {
                let Some(entry) = log.selected_entry() else {
                    return Vec::new();
                };
                let id = entry.id;
                let Some(tenant) = entry.tenant_id.clone() else {
                    self.inform("This request named no tenant; it has no detail".to_owned());
                    return Vec::new();
                };
                log.detail = Some(Detail::Loading(id));
                log.detail_scroll = 0;
                return vec![Cmd::LoadEntry { tenant, id }];
            }
            KeyCode::Esc => return self.close_tenant(),
            _ => {}
        }
        Vec::new()
    }

    fn modal_key(&mut self, modal: Modal, key: KeyEvent) -> Vec<Cmd> {
        let modal = match self.permission_modal_key(modal, key) {
            Ok(cmds) => return cmds,
            Err(modal) => modal,
        };
        match modal {
            Modal::CreateTenant { mut name } => match key.code {
                KeyCode::Esc => {}
                KeyCode::Enter if !name.trim().is_empty() => {
                    self.pending = Some("Creating the tenant");
                    self.reopen = Some(Modal::CreateTenant { name: name.clone() });
                    return vec![Cmd::CreateTenant(name.trim().to_owned())];
                }
                _ => {
                    edit(&mut name, key);
                    self.modal = Some(Modal::CreateTenant { name });
                }
            },
            Modal::DeleteTenant {
                id,
                name,
                mut typed,
            } => match key.code {
                KeyCode::Esc => {}
                // The name as the dialog shows it (escaped) counts too: a name with
                // invisible characters could not be typed otherwise.
                KeyCode::Enter if typed == name || typed == crate::ui::text::clean(&name) => {
                    self.pending = Some("Deleting the tenant");
                    return vec![Cmd::DeleteTenant { id, name }];
                }
                KeyCode::Enter => {
                    self.notice = Some(super::Notice {
                        text: "Type the tenant's name exactly to delete it".to_owned(),
                        error: true,
                    });
                    self.modal = Some(Modal::DeleteTenant { id, name, typed });
                }
                _ => {
                    edit(&mut typed, key);
                    self.modal = Some(Modal::DeleteTenant { id, name, typed });
                }
            },
            Modal::Rotate(mut form) => match key.code {
                KeyCode::Esc => {}
                KeyCode::Enter => self.modal = Some(Modal::ConfirmRotate(form)),
                code => {
                    match code {
                        KeyCode::Up | KeyCode::Char('k') => form.mode = previous_mode(form.mode),
                        KeyCode::Down | KeyCode::Char('j') => form.mode = next_mode(form.mode),
                        KeyCode::Left | KeyCode::Char('h') => {
                            form.overlap = form.overlap.saturating_sub(1);
                        }
                        KeyCode::Right | KeyCode::Char('l') => {
                            form.overlap = (form.overlap + 1).min(OVERLAPS.len() - 1);
                        }
                        _ => {}
                    }
                    self.modal = Some(Modal::Rotate(form));
                }
            },
            // Only `y`: an Enter pressed twice too many must not rotate.
            Modal::ConfirmRotate(form) => match key.code {
                KeyCode::Char('y') => return self.issue(form),
                KeyCode::Char('n') | KeyCode::Esc => self.modal = Some(Modal::Rotate(form)),
                _ => self.modal = Some(Modal::ConfirmRotate(form)),
            },
            Modal::ConfirmRevoke { token_id } => match key.code {
                KeyCode::Char('y') => {
                    if let Some(tenant) = &self.tenant {
                        self.pending = Some("Revoking the token");
                        return vec![Cmd::RevokeToken {
                            tenant: tenant.id.clone(),
                            token: token_id,
                        }];
                    }
                }
                KeyCode::Char('n') | KeyCode::Esc => {}
                _ => self.modal = Some(Modal::ConfirmRevoke { token_id }),
            },
            Modal::TokenShown {
                issued,
                copied,
                warned,
            } => match key.code {
                KeyCode::Char('c') => {
                    let token = issued.token.clone();
                    self.modal = Some(Modal::TokenShown {
                        issued,
                        copied: true,
                        warned,
                    });
                    return vec![Cmd::Copy(token)];
                }
                // Closing forgets the secret for good; without a copy, only when asked twice.
                KeyCode::Esc | KeyCode::Enter if copied || warned => {}
                KeyCode::Esc | KeyCode::Enter => {
                    self.modal = Some(Modal::TokenShown {
                        issued,
                        copied,
                        warned: true,
                    });
                }
                _ => {
                    self.modal = Some(Modal::TokenShown {
                        issued,
                        copied,
                        warned,
                    });
                }
            },
            Modal::LogText { mut text } => match key.code {
                KeyCode::Esc => {
                    self.log.filter.text.clear();
                    self.log.filter_changed();
                }
                KeyCode::Enter => {}
                _ => {
                    edit(&mut text, key);
                    self.log.filter.text = text.clone();
                    self.log.filter_changed();
                    self.modal = Some(Modal::LogText { text });
                }
            },
            // The permission dialogs, answered above.
            other => self.modal = Some(other),
        }
        Vec::new()
    }
}

/// The rotation offered first: the old token ends once the identity provider uses the
/// new one, a week at most.
fn default_rotation() -> RotateForm {
    RotateForm {
        mode: RotateMode::OnFirstUse,
        overlap: OVERLAPS.len() - 1,
    }
}

const MODES: [RotateMode; 3] = [
    RotateMode::OnFirstUse,
    RotateMode::AfterOverlap,
    RotateMode::Immediately,
];

fn next_mode(mode: RotateMode) -> RotateMode {
    let at = MODES.iter().position(|m| *m == mode).unwrap_or_default();
    MODES[(at + 1).min(MODES.len() - 1)]
}

fn previous_mode(mode: RotateMode) -> RotateMode {
    let at = MODES.iter().position(|m| *m == mode).unwrap_or_default();
    MODES[at.saturating_sub(1)]
}

/// How far a key moves a list's selection, if it is a movement key.
pub(super) fn movement(code: KeyCode) -> Option<isize> {
    Some(match code {
        KeyCode::Up | KeyCode::Char('k') => -1,
        KeyCode::Down | KeyCode::Char('j') => 1,
        KeyCode::PageUp => -PAGE,
        KeyCode::PageDown => PAGE,
        KeyCode::Home | KeyCode::Char('g') => isize::MIN,
        KeyCode::End | KeyCode::Char('G') => isize::MAX,
        _ => return None,
    })
}

pub(super) fn moved(at: usize, delta: isize, len: usize) -> usize {
    at.saturating_add_signed(delta).min(len.saturating_sub(1))
}

/// Typing into a one-line input: printable characters and Backspace.
pub(super) fn edit(text: &mut String, key: KeyEvent) {
    match key.code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c)
            if !c.is_control()
                && !key.modifiers.contains(KeyModifiers::CONTROL)
                && text.chars().count() < INPUT_MAX =>
        {
            text.push(c);
        }
        _ => {}
    }
}
