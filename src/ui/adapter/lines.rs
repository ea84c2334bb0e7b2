//! The order's lines on the pack screen: one model kept across views, so a scan changes the
//! rows it touched instead of rebuilding 600 of them, with the search's filter over it.

use std::cell::RefCell;
use std::rc::Rc;

use slint::{FilterModel, Model, ModelRc, VecModel};

use super::LineRow;

type Filtered = FilterModel<ModelRc<LineRow>, Box<dyn Fn(&LineRow) -> bool>>;

/// The lines of the open order and what the search shows of them.
#[derive(Clone)]
pub struct LineModel {
    all: Rc<VecModel<LineRow>>,
    /// The search as typed, lower case; empty: every line.
    needle: Rc<RefCell<String>>,
    shown: Rc<Filtered>,
}

impl Default for LineModel {
    fn default() -> Self {
        Self::new()
    }
}

/// A line matches a search by its SKU, name, attributes or one of its barcodes.
pub fn matches(row: &LineRow, needle: &str) -> bool {
    needle.is_empty()
        || [&row.sku, &row.name, &row.attributes, &row.codes]
            .iter()
            .any(|f| f.to_lowercase().contains(needle))
}

impl LineModel {
    pub fn new() -> LineModel {
        let all = Rc::new(VecModel::<LineRow>::default());
        let needle = Rc::new(RefCell::new(String::new()));
        let n = needle.clone();
        let filter: Box<dyn Fn(&LineRow) -> bool> = Box::new(move |r| matches(r, &n.borrow()));
        let shown = Rc::new(FilterModel::new(ModelRc::from(all.clone()), filter));
        LineModel { all, needle, shown }
    }

    /// What the screen's list shows.
    pub fn shown(&self) -> ModelRc<LineRow> {
        ModelRc::from(self.shown.clone())
    }

    /// Takes the view's lines: another order (other SKUs or count) replaces the rows, the same
    /// order changes only the rows that differ (a scan: the line counted and the one that was
    /// highlighted before).
    pub fn update(&self, rows: &[LineRow]) {
        let same_order = self.all.row_count() == rows.len()
            && rows
                .iter()
                .enumerate()
                .all(|(i, r)| self.all.row_data(i).is_some_and(|o| o.sku == r.sku));
        if !same_order {
            self.all.set_vec(rows.to_vec());
            return;
        }
        for (i, r) in rows.iter().enumerate() {
            if self.all.row_data(i).as_ref() != Some(r) {
                self.all.set_row_data(i, r.clone());
            }
        }
    }

    /// Filters the list by what was typed in the search.
    pub fn set_filter(&self, text: &str) {
        *self.needle.borrow_mut() = text.trim().to_lowercase();
        self.shown.reset();
    }

    /// Lines the search shows.
    pub fn shown_count(&self) -> usize {
        self.shown.row_count()
    }

    /// Where the order's line `line` is in the shown list (`-1`: filtered out or none).
    pub fn shown_index(&self, line: i32) -> i32 {
        if line < 0 {
            return -1;
        }
        (0..self.shown.row_count())
            .find(|&j| self.shown.unfiltered_row(j) == line as usize)
            .map_or(-1, |j| j as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sku: &str, name: &str, codes: &str, scanned: i32) -> LineRow {
        LineRow {
            sku: sku.into(),
            name: name.into(),
            codes: codes.into(),
            qty: 2,
            scanned,
            ..Default::default()
        }
    }

    #[test]
    fn a_scan_changes_one_row_and_the_filter_finds_by_sku_name_or_barcode() {
        let m = LineModel::new();
        let rows: Vec<LineRow> = (0..600)
            .map(|i| {
                row(
                    &format!("BIG-{i:03}"),
                    &format!("Item {i}"),
                    &format!("69{i:011}"),
                    0,
                )
            })
            .collect();
        m.update(&rows);
        let shown = m.shown();
        assert_eq!(shown.row_count(), 600);
        // The same order again with one unit counted: the rows are kept, one is changed.
        let mut next = rows.clone();
        next[449].scanned = 1;
        m.update(&next);
        assert_eq!(m.all.row_data(449).unwrap().scanned, 1);
        assert_eq!(
            shown.row_data(449).unwrap().scanned,
            1,
            "the shown list follows"
        );

        m.set_filter("big-44");
        assert_eq!(m.shown_count(), 10, "BIG-440 to BIG-449");
        assert_eq!(m.shown_index(449), 9);
        assert_eq!(m.shown_index(3), -1, "filtered out");
        m.set_filter("ITEM 123");
        assert_eq!(shown.row_data(0).unwrap().sku, "BIG-123");
        m.set_filter("00000000450");
        assert_eq!(shown.row_count(), 1);
        assert_eq!(shown.row_data(0).unwrap().sku, "BIG-450");
        m.set_filter("  ");
        assert_eq!(m.shown_count(), 600);
        // Another order replaces the rows.
        m.update(&rows[..3]);
        assert_eq!(shown.row_count(), 3);
    }
}
