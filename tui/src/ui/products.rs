//! Products and their permission groups: what synced groups can be given.

use ratatui::{
    Frame,
    layout::{Constraint, Rect},
    style::{Style, Stylize},
    widgets::{Block, Paragraph, Row, Table, TableState},
};

use super::{placeholder, text};
use crate::{
    api::AccessType,
    app::{App, permissions::ProductRow},
};

pub fn access_label(access: AccessType) -> &'static str {
    match access {
        AccessType::ReadOnly => "read only",
        AccessType::Full => "full",
        AccessType::Custom => "custom",
    }
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    if placeholder(app, &app.model, frame, area) {
        return;
    }
    let Some(model) = app.model.loaded() else {
        return;
    };
    let rows = model.rows();
    let block = Block::bordered().title(" Products and permission groups ");
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new("No products yet. Press n to create one.").block(block),
            area,
        );
        return;
    }
    let table = Table::new(
        rows.iter().map(|row| match row {
            ProductRow::Product(product) => Row::new([
                text::clean(&product.name).into_owned(),
                String::new(),
                String::new(),
            ])
            .bold(),
            ProductRow::Group(_, group) => Row::new([
                format!("  {}", text::clean(&group.name)),
                access_label(group.access_type).to_owned(),
                match group.access_type {
                    AccessType::Custom => group.permissions.join(", "),
                    AccessType::Full => "every permission".to_owned(),
                    AccessType::ReadOnly => "none of the write permissions".to_owned(),
                },
            ]),
        }),
        [
            Constraint::Min(20),
            Constraint::Length(10),
            Constraint::Min(20),
        ],
    )
    .header(Row::new(["Name", "Access", "Permissions"]).bold())
    .row_highlight_style(Style::new().reversed())
    .block(block);
    let mut state = TableState::default().with_selected(Some(app.product_cursor));
    frame.render_stateful_widget(table, area, &mut state);
}
