//! The synced groups: members, mapping (roles and permission groups) and priority.

use ratatui::{
    Frame,
    layout::{Constraint, Rect},
    style::{Style, Stylize},
    widgets::{Block, Paragraph, Row, Table, TableState},
};

use super::{paged_title, text, visible_window};
use crate::{
    api::SyncedGroup,
    app::{App, permissions::Model},
};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let list = &app.groups;
    let block = Block::bordered().title(paged_title("Synced groups", list));
    if list.items.is_empty() {
        let text = match (&list.error, list.loading) {
            (Some(err), _) => format!("Could not load: {}  (r to retry)", text::clean(err)),
            (None, true) => "Loading …".to_owned(),
            (None, false) if !list.search.is_empty() => "No group matches.".to_owned(),
            (None, false) => "No groups yet: the identity provider has synced none.".to_owned(),
        };
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let model = app.model.loaded();
    let (first, rows) = visible_window(list.cursor, list.items.len(), area.height);
    let table = Table::new(
        list.items[first..first + rows]
            .iter()
            .map(|group| row(group, model)),
        [
            Constraint::Length(4),
            Constraint::Min(16),
            Constraint::Length(7),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Min(16),
        ],
    )
    .header(
        Row::new([
            "Prio",
            "Group",
            "Members",
            "Admin",
            "Billing",
            "Permission groups",
        ])
        .bold(),
    )
    .row_highlight_style(Style::new().reversed())
    .block(block);
    let mut state = TableState::default().with_selected(Some(list.cursor - first));
    frame.render_stateful_widget(table, area, &mut state);
}

fn row<'a>(group: &'a SyncedGroup, model: Option<&Model>) -> Row<'a> {
    let yes = |flag: bool| if flag { "yes" } else { "" };
    let Some(mapping) = &group.mapping else {
        return Row::new([
            String::new(),
            text::clean(&group.display_name).into_owned(),
            group.member_count.to_string(),
            String::new(),
            String::new(),
            "not mapped".to_owned(),
        ])
        .dim();
    };
    let granted = mapping
        .permission_group_ids
        .iter()
        .map(|id| match model.and_then(|m| m.permission_group(id)) {
            Some((product, group)) => format!(
                "{}: {}",
                text::clean(&product.name),
                text::clean(&group.name)
            ),
            None => text::short_id(id).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    Row::new([
        mapping.priority.to_string(),
        text::clean(&group.display_name).into_owned(),
        group.member_count.to_string(),
        yes(mapping.is_organization_admin).to_owned(),
        yes(mapping.is_billing_manager).to_owned(),
        granted,
    ])
}
