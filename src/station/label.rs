//! From a packed order to the label the printer gets: the station knows orders, the drivers
//! know bytes; this is the one place that maps the first onto the second.

use packbench_drivers::label::raster::{self, FontError, PrinterFont, Raster};
use packbench_drivers::label::{LabelData, LabelLine, PaperWidth};

/// Where it is defined: the config, below both the station and the sheets, which print too.
pub use crate::config::LabelSetup;
use crate::domain::catalog::Catalog;
use crate::domain::progress::OrderProgress;
use crate::domain::Order;

/// The label as the printer prints it: the job's bytes through the drivers' ESC/POS
/// interpreter, with the station's bundled font standing in for the printer's.
pub fn printed(bytes: &[u8], paper: PaperWidth) -> Result<Raster, FontError> {
    let mut font = PrinterFont::new(crate::sheets::FONT)?;
    Ok(raster::render(bytes, paper, &mut font))
}

/// Names for the label: "E003 张伟" reads better than a bare id.
pub fn person(id: Option<&str>, name: Option<&str>) -> String {
    match (id, name) {
        (Some(i), Some(n)) if !n.is_empty() => format!("{i} {n}"),
        (Some(i), _) => i.to_string(),
        _ => String::new(),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn label_for(
    order: &Order,
    progress: &OrderProgress,
    catalog: &Catalog,
    picker: String,
    packer: String,
    bench: &str,
    time: String,
    copy: u32,
    setup: LabelSetup,
) -> LabelData {
    LabelData {
        order_no: order.order_no.clone(),
        waybill_no: order.waybill_no.clone(),
        carrier: order.carrier.clone(),
        recipient: order.recipient.clone(),
        country: order.country.clone(),
        address: order.address.clone(),
        lines: order
            .lines
            .iter()
            .map(|l| LabelLine {
                sku: l.sku.clone(),
                name: catalog
                    .get(&l.sku)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                qty: l.qty,
                gift: l.gift,
            })
            .collect(),
        buyer_note: order.buyer_note.clone(),
        picker,
        packer,
        weight_grams: progress
            .measured_weight_g
            .map(|g| g.round().max(0.0) as u32),
        bench: bench.to_string(),
        time,
        reprint: (copy > 1).then_some(copy),
        paper: setup.paper,
        chinese: setup.chinese,
        language: setup.language,
    }
}
