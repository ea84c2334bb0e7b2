//! From a packed order to the label the printer gets: the station knows orders, the drivers
//! know bytes; this is the one place that maps the first onto the second.

use crate::config::Config;
use packbench_drivers::label::raster::{self, PrinterFont, Raster};
use packbench_drivers::label::{CaptionLanguage, LabelData, LabelLine, PaperWidth};

use crate::domain::catalog::Catalog;
use crate::domain::progress::OrderProgress;
use crate::domain::Order;

/// How this bench's printer is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSetup {
    pub paper: PaperWidth,
    pub chinese: bool,
    pub language: CaptionLanguage,
}

impl LabelSetup {
    /// The label set-up of the configured printer (defaults when there is none).
    pub fn from_config(cfg: &Config) -> Result<LabelSetup, String> {
        use packbench_drivers::label::{CaptionLanguage, PaperWidth};
        let Some(p) = &cfg.printer else {
            return Ok(Default::default());
        };
        let paper = match p.paper_mm {
            58 => PaperWidth::Mm58,
            80 => PaperWidth::Mm80,
            other => return Err(format!("printer paper_mm must be 58 or 80, not {other}")),
        };
        let language = match p.language.as_deref() {
            None if p.chinese => CaptionLanguage::SimplifiedChinese,
            None => CaptionLanguage::English,
            Some("zh") | Some("zh-CN") => CaptionLanguage::SimplifiedChinese,
            Some("en") => CaptionLanguage::English,
            Some(other) => return Err(format!("printer language must be zh or en, not {other:?}")),
        };
        Ok(LabelSetup {
            paper,
            chinese: p.chinese,
            language,
        })
    }
}

impl Default for LabelSetup {
    fn default() -> Self {
        LabelSetup {
            paper: PaperWidth::Mm80,
            chinese: true,
            language: CaptionLanguage::SimplifiedChinese,
        }
    }
}

/// The label as the printer prints it: the job's bytes through the drivers' ESC/POS
/// interpreter, with the station's bundled font standing in for the printer's.
pub fn printed(bytes: &[u8], paper: PaperWidth) -> anyhow::Result<Raster> {
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
