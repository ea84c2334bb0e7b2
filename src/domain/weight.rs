//! Expected weight, tolerance and the mismatch hint.

use serde::{Deserialize, Serialize};

/// One order line as the weight check sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LineWeight {
    pub sku: String,
    pub qty: u32,
    pub unit_weight_g: f64,
    /// Per-unit extra tolerance from the catalog.
    pub unit_tolerance_g: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToleranceRule {
    pub tolerance_g: f64,
    pub tolerance_pct: f64,
}

/// Sum of unit weights plus packaging tare.
pub fn expected_g(lines: &[LineWeight], tare_g: f64) -> f64 {
    lines
        .iter()
        .map(|l| l.unit_weight_g * l.qty as f64)
        .sum::<f64>()
        + tare_g
}

/// `max(tolerance_g, tolerance_pct % of expected)`, widened by each line's per-unit catalog
/// tolerance times its quantity (goods whose weight varies add their own spread).
pub fn tolerance_g(rule: ToleranceRule, expected: f64, lines: &[LineWeight]) -> f64 {
    let base = rule.tolerance_g.max(rule.tolerance_pct / 100.0 * expected);
    let widen: f64 = lines
        .iter()
        .filter_map(|l| l.unit_tolerance_g.map(|t| t * l.qty as f64))
        .sum();
    round2(base + widen)
}

/// At the bound is still within (a tolerance is an inclusive limit).
pub fn within(measured: f64, expected: f64, tolerance: f64) -> bool {
    (measured - expected).abs() <= tolerance + 1e-9
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One term of a hint: `units` of `sku`, negative when missing, positive when extra.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HintTerm {
    pub sku: String,
    pub units: i32,
    pub weight_g: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hint {
    /// Best explanation; empty when nothing explains the difference.
    pub terms: Vec<HintTerm>,
    /// Other explanations just as good (same weight, other SKUs).
    pub alternatives: Vec<Vec<HintTerm>>,
    pub explained: bool,
    pub diff_g: f64,
    pub text: String,
}

/// Most units a hint may name: beyond that a guess is no longer useful to a packer.
const MAX_HINT_UNITS: i32 = 3;
/// Most extra units of one SKU considered.
const MAX_EXTRA: i32 = 2;

/// Explains `diff_g = measured - expected` by the missing or extra units that best account
/// for it: fewest units first, then smallest residual; explained only when the residual is
/// within `tolerance`.
pub fn hint(diff_g: f64, lines: &[LineWeight], tolerance: f64) -> Hint {
    // Merge lines of one SKU (a gift line and a bought line of the same product).
    let mut skus: Vec<(String, u32, f64)> = Vec::new();
    for l in lines.iter().filter(|l| l.unit_weight_g > 0.0) {
        match skus.iter_mut().find(|s| s.0 == l.sku) {
            Some(s) => s.1 += l.qty,
            None => skus.push((l.sku.clone(), l.qty, l.unit_weight_g)),
        }
    }
    let mut best: Vec<(Vec<(usize, i32)>, f64)> = Vec::new();
    let mut current = Vec::new();
    search(
        &skus,
        0,
        MAX_HINT_UNITS,
        0.0,
        diff_g,
        tolerance,
        &mut current,
        &mut best,
    );

    // Fewest units, then smallest residual.
    let size = |c: &Vec<(usize, i32)>| c.iter().map(|(_, d)| d.abs()).sum::<i32>();
    best.sort_by(|a, b| {
        size(&a.0)
            .cmp(&size(&b.0))
            .then(a.1.abs().total_cmp(&b.1.abs()))
    });
    let to_terms = |c: &Vec<(usize, i32)>| -> Vec<HintTerm> {
        c.iter()
            .map(|&(i, d)| HintTerm {
                sku: skus[i].0.clone(),
                units: d,
                weight_g: round2(skus[i].2 * d as f64),
            })
            .collect()
    };
    match best.first() {
        Some((combo, residual)) => {
            let n = size(combo);
            let alternatives: Vec<Vec<HintTerm>> = best[1..]
                .iter()
                .filter(|(c, r)| size(c) == n && (r.abs() - residual.abs()).abs() <= 1.0)
                .take(2)
                .map(|(c, _)| to_terms(c))
                .collect();
            let terms = to_terms(combo);
            let mut text = format!("≈ {}", describe(&terms));
            for alt in &alternatives {
                text.push_str(&format!(" (or {})", describe(alt)));
            }
            Hint {
                terms,
                alternatives,
                explained: true,
                diff_g: round2(diff_g),
                text,
            }
        }
        None => Hint {
            terms: Vec::new(),
            alternatives: Vec::new(),
            explained: false,
            diff_g: round2(diff_g),
            text: format!(
                "no combination of missing or extra units explains {} g {}",
                fmt_g(diff_g.abs()),
                if diff_g > 0.0 { "over" } else { "under" }
            ),
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn search(
    skus: &[(String, u32, f64)],
    from: usize,
    budget: i32,
    sum: f64,
    diff: f64,
    tol: f64,
    current: &mut Vec<(usize, i32)>,
    found: &mut Vec<(Vec<(usize, i32)>, f64)>,
) {
    if !current.is_empty() {
        let residual = diff - sum;
        if residual.abs() <= tol + 1e-9 {
            found.push((current.clone(), residual));
        }
    }
    if budget == 0 {
        return;
    }
    for i in from..skus.len() {
        let (_, qty, w) = &skus[i];
        let max_missing = (*qty as i32).min(budget);
        let max_extra = MAX_EXTRA.min(budget);
        for d in (-max_missing..=max_extra).filter(|d| *d != 0) {
            current.push((i, d));
            search(
                skus,
                i + 1,
                budget - d.abs(),
                sum + w * d as f64,
                diff,
                tol,
                current,
                found,
            );
            current.pop();
        }
    }
}

fn describe(terms: &[HintTerm]) -> String {
    let parts: Vec<String> = terms
        .iter()
        .map(|t| {
            format!(
                "{} × {} {}",
                t.units.abs(),
                t.sku,
                if t.units < 0 { "missing" } else { "extra" }
            )
        })
        .collect();
    let total: f64 = terms.iter().map(|t| t.weight_g.abs()).sum();
    format!("{}, {} g", parts.join(" and "), fmt_g(total))
}

/// Grams without a needless ".0".
pub fn fmt_g(g: f64) -> String {
    let r = round2(g);
    if (r - r.round()).abs() < 1e-9 {
        format!("{}", r.round() as i64)
    } else {
        format!("{r}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, qty: u32, w: f64) -> LineWeight {
        LineWeight {
            sku: sku.into(),
            qty,
            unit_weight_g: w,
            unit_tolerance_g: None,
        }
    }

    fn rule() -> ToleranceRule {
        ToleranceRule {
            tolerance_g: 15.0,
            tolerance_pct: 3.0,
        }
    }

    #[test]
    fn expected_includes_tare() {
        let lines = [line("A", 2, 185.0), line("B", 1, 40.0)];
        assert_eq!(expected_g(&lines, 30.0), 440.0);
    }

    #[test]
    fn tolerance_takes_larger_of_grams_and_percent() {
        let lines = [line("A", 1, 100.0)];
        assert_eq!(tolerance_g(rule(), 100.0, &lines), 15.0);
        assert_eq!(tolerance_g(rule(), 1000.0, &lines), 30.0);
    }

    #[test]
    fn per_sku_tolerance_widens() {
        let mut tea = line("TEA", 2, 250.0);
        tea.unit_tolerance_g = Some(5.0);
        assert_eq!(tolerance_g(rule(), 500.0, &[tea]), 25.0);
    }

    #[test]
    fn within_is_inclusive_at_bound() {
        assert!(within(515.0, 500.0, 15.0));
        assert!(within(485.0, 500.0, 15.0));
        assert!(!within(515.01, 500.0, 15.0));
        assert!(!within(484.99, 500.0, 15.0));
    }

    #[test]
    fn hint_one_missing() {
        let lines = [line("T-BLU-L", 2, 185.0), line("SOCK", 3, 40.0)];
        let h = hint(-184.0, &lines, 15.0);
        assert!(h.explained);
        assert_eq!(
            h.terms,
            vec![HintTerm {
                sku: "T-BLU-L".into(),
                units: -1,
                weight_g: -185.0
            }]
        );
        assert_eq!(h.text, "≈ 1 × T-BLU-L missing, 185 g");
    }

    #[test]
    fn hint_one_extra() {
        let lines = [line("T-BLU-L", 2, 185.0), line("SOCK", 3, 40.0)];
        let h = hint(41.5, &lines, 15.0);
        assert_eq!(h.terms.len(), 1);
        assert_eq!(h.terms[0].sku, "SOCK");
        assert_eq!(h.terms[0].units, 1);
        assert_eq!(h.text, "≈ 1 × SOCK extra, 40 g");
    }

    #[test]
    fn hint_two_missing() {
        let lines = [line("T-BLU-L", 2, 185.0), line("MUG", 1, 420.0)];
        let h = hint(-372.0, &lines, 15.0);
        assert_eq!(h.terms.len(), 1);
        assert_eq!(h.terms[0].units, -2);
        assert_eq!(h.text, "≈ 2 × T-BLU-L missing, 370 g");
        // Two different SKUs missing.
        let h = hint(-605.0, &lines, 15.0);
        let mut skus: Vec<_> = h.terms.iter().map(|t| (t.sku.as_str(), t.units)).collect();
        skus.sort();
        assert_eq!(skus, vec![("MUG", -1), ("T-BLU-L", -1)]);
    }

    #[test]
    fn hint_unexplainable() {
        let lines = [line("T-BLU-L", 1, 185.0)];
        let h = hint(90.0, &lines, 15.0);
        assert!(!h.explained);
        assert!(h.terms.is_empty());
        assert_eq!(
            h.text,
            "no combination of missing or extra units explains 90 g over"
        );
    }

    #[test]
    fn hint_names_equal_weight_alternatives() {
        let lines = [line("T-BLU-L", 1, 185.0), line("T-BLU-M", 1, 185.0)];
        let h = hint(-185.0, &lines, 15.0);
        assert!(h.explained);
        assert_eq!(h.alternatives.len(), 1);
        assert!(h.text.contains(" (or 1 × "), "{}", h.text);
    }

    #[test]
    fn hint_never_claims_more_missing_than_ordered() {
        let lines = [line("A", 1, 100.0)];
        let h = hint(-200.0, &lines, 5.0);
        assert!(!h.explained, "{h:?}");
    }
}
