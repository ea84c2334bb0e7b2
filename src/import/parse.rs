//! Checking rows into SKUs, orders, employees and packaging: the first bad row is named.

#[allow(unused_imports)]
use super::*;

pub const CATALOG_COLUMNS: &[&str] = &["sku", "name", "barcodes", "unit_weight_g"];
pub const ORDER_COLUMNS: &[&str] = &[
    "order_no",
    "waybill_no",
    "carrier",
    "recipient",
    "country",
    "address",
    "buyer_note",
    "sku",
    "qty",
];
pub const EMPLOYEE_COLUMNS: &[&str] = &["id", "name", "roles", "badge"];
pub const PACKAGING_COLUMNS: &[&str] = &["code", "name", "tare_g"];

/// Role names as Chinese staff lists write them (拣货员、打包员) in the contract's form
/// (`picker|packer`).
pub(super) fn roles_field(v: &str) -> String {
    v.split(['|', '、', ',', '，', '/'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p {
            "拣货员" | "拣货" => "picker",
            "打包员" | "打包" | "包装员" => "packer",
            "主管" => "supervisor",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Attributes as Chinese shops write them (`颜色:蓝色;尺码:L`) in the contract's form
/// (`颜色=蓝色;尺码=L`); a part that already has `=` is left alone.
pub(super) fn attributes_field(v: &str) -> Cow<'_, str> {
    if !v.contains([':', '：']) {
        return Cow::Borrowed(v);
    }
    Cow::Owned(
        v.split(';')
            .map(|part| match part.split_once([':', '：']) {
                Some((k, val)) if !part.contains('=') => format!("{k}={val}"),
                _ => part.to_string(),
            })
            .collect::<Vec<_>>()
            .join(";"),
    )
}

/// Checks catalog rows; `existing` is the catalog already stored (its barcodes stay taken).
pub fn parse_catalog(rows: &Rows, existing: &[Sku]) -> Result<Vec<Sku>, ImportError> {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(rows.rows.len());
    let mut claimed: HashMap<String, (String, String)> = HashMap::new();
    let replaced: HashSet<&str> = rows.rows.iter().map(|r| r.get("sku").trim()).collect();
    for s in existing
        .iter()
        .filter(|s| !replaced.contains(s.sku.as_str()))
    {
        for b in &s.barcodes {
            claimed.insert(
                crate::domain::barcode::catalog_key(&b.code),
                (s.sku.clone(), "the stored catalog".into()),
            );
        }
    }
    for row in &rows.rows {
        let sku = rows.required(row, "sku")?.to_string();
        if let Some(first) = seen.insert(sku.clone(), row.at()) {
            return Err(rows.err(row, "sku", format!("{sku} already appears on {first}")));
        }
        let name = rows.required(row, "name")?.to_string();
        let barcodes =
            parse_barcodes(row.get("barcodes")).map_err(|m| rows.err(row, "barcodes", m))?;
        for b in &barcodes {
            let key = crate::domain::barcode::catalog_key(&b.code);
            if let Some((other, place)) = claimed.get(&key) {
                if other != &sku {
                    return Err(rows.err(
                        row,
                        "barcodes",
                        format!("barcode {} already belongs to {other} ({place})", b.code),
                    ));
                }
            }
            claimed.insert(key, (sku.clone(), row.at()));
        }
        let unit_weight_g = rows.number(row, "unit_weight_g", true)?.unwrap_or(0.0);
        let weight_tolerance_g = rows.number(row, "weight_tolerance_g", false)?;
        let attributes = parse_attributes(&attributes_field(row.get("attributes")))
            .map_err(|m| rows.err(row, "attributes", m))?;
        out.push(Sku {
            sku,
            name,
            barcodes,
            unit_weight_g,
            weight_tolerance_g,
            attributes,
        });
    }
    // Belt and braces: the catalog as a whole must build.
    Catalog::new(out.iter().cloned()).map_err(|m| ImportError {
        file: rows.file.clone(),
        where_: "file".into(),
        message: m.to_string(),
    })?;
    Ok(out)
}

/// Checks order rows and groups them into orders; every SKU must be in `skus`.
pub fn parse_orders(rows: &Rows, skus: &HashSet<String>) -> Result<Vec<Order>, ImportError> {
    const ORDER_LEVEL: &[&str] = &[
        "waybill_no",
        "carrier",
        "recipient",
        "country",
        "address",
        "buyer_note",
        "picker_id",
        "status",
    ];
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut first_row: Vec<&Row> = Vec::new();
    let mut orders: Vec<Order> = Vec::new();
    let mut waybills: HashMap<String, String> = HashMap::new();
    for row in &rows.rows {
        let order_no = rows.required(row, "order_no")?.to_string();
        let sku = rows.required(row, "sku")?.to_string();
        if !skus.contains(&sku) {
            return Err(rows.err(
                row,
                "sku",
                format!("{sku} is not in the catalog (import the catalog first)"),
            ));
        }
        let qty_s = row.get("qty").trim();
        let qty = match whole_number(qty_s) {
            Some(q) if q > 0 => q,
            _ => {
                return Err(rows.err(
                    row,
                    "qty",
                    format!("{qty_s:?} is not a whole number of at least 1"),
                ))
            }
        };
        let gift = match row.get("gift").trim().to_ascii_lowercase().as_str() {
            "" | "0" | "false" | "no" | "否" => false,
            "1" | "true" | "yes" | "是" => true,
            other => {
                return Err(rows.err(row, "gift", format!("{other:?} is not 1 or 0")));
            }
        };
        let status = row.get("status").trim().to_ascii_lowercase();
        let cancelled = match status.as_str() {
            // Shop systems' words for an order still to ship (Shopify's financial status
            // "paid", WooCommerce's "processing", Taobao's 等待卖家发货) or a cancelled one.
            "" | "active" | "pending" | "paid" | "processing" | "待发货" | "等待卖家发货"
            | "买家已付款" | "已付款" => false,
            "cancelled" | "canceled" | "voided" | "已取消" | "取消" | "交易关闭" | "已关闭" => {
                true
            }
            _ => {
                return Err(rows.err(
                    row,
                    "status",
                    format!("{status:?} is not a known status (leave empty or write cancelled)"),
                ))
            }
        };
        let line = OrderLine { sku, qty, gift };
        match index.get(&order_no) {
            Some(&i) => {
                let first = first_row[i];
                for col in ORDER_LEVEL {
                    if row.get(col).trim() != first.get(col).trim() {
                        return Err(rows.err(
                            row,
                            col,
                            format!("differs from {} of the same order {order_no}", first.at()),
                        ));
                    }
                }
                orders[i].lines.push(line);
            }
            None => {
                let waybill_no = rows.required(row, "waybill_no")?.to_string();
                if let Some(other) = waybills.insert(waybill_no.clone(), order_no.clone()) {
                    return Err(rows.err(
                        row,
                        "waybill_no",
                        format!("waybill {waybill_no} is already used by order {other}"),
                    ));
                }
                let picker = row.get("picker_id").trim();
                index.insert(order_no.clone(), orders.len());
                first_row.push(row);
                orders.push(Order {
                    order_no,
                    waybill_no,
                    carrier: row.get("carrier").trim().to_string(),
                    recipient: row.get("recipient").to_string(),
                    country: row.get("country").trim().to_string(),
                    address: row.get("address").to_string(),
                    buyer_note: row.get("buyer_note").to_string(),
                    lines: vec![line],
                    picker_id: (!picker.is_empty()).then(|| picker.to_string()),
                    cancelled,
                });
            }
        }
    }
    Ok(orders)
}

/// An employee row of a file: the employee as stored, and the PIN of the `pin` column, held
/// in clear only until the import hashes it (or finds the stored hash already is its hash).
#[derive(Debug, Clone)]
pub struct EmployeeRow {
    pub employee: Employee,
    pub pin: Option<Pin>,
}

impl std::ops::Deref for EmployeeRow {
    type Target = Employee;
    fn deref(&self) -> &Employee {
        &self.employee
    }
}

impl EmployeeRow {
    /// The employee to store over `old`: the file's PIN keeps the stored hash when it is
    /// that PIN's (so a re-import changes nothing), else is hashed afresh; no PIN in the
    /// file keeps the stored one (set by `packbench employee pin`).
    pub fn resolve(&self, old: Option<&Employee>) -> Employee {
        let old_hash = old.and_then(|o| o.pin_hash.clone());
        let pin_hash = match (&self.pin, old_hash) {
            // Kept only at today's cost: an older, cheaper hash is made again.
            (Some(p), Some(h)) if !h.needs_rehash() && h.verify(p) => Some(h),
            (Some(p), _) => Some(p.hash()),
            (None, h) => h,
        };
        Employee {
            pin_hash,
            ..self.employee.clone()
        }
    }
}

pub fn parse_employees(rows: &Rows) -> Result<Vec<EmployeeRow>, ImportError> {
    let mut ids = HashMap::new();
    let mut badges = HashMap::new();
    let mut out = Vec::new();
    for row in &rows.rows {
        let id = rows.required(row, "id")?.to_string();
        if let Some(l) = ids.insert(id.clone(), row.at()) {
            return Err(rows.err(row, "id", format!("{id} already appears on {l}")));
        }
        let name = rows.required(row, "name")?.to_string();
        let roles = Roles::parse(&roles_field(row.get("roles")))
            .map_err(|m| rows.err(row, "roles", m.to_string()))?;
        let badge = rows.required(row, "badge")?.to_string();
        if let Some(l) = badges.insert(badge.clone(), row.at()) {
            return Err(rows.err(row, "badge", format!("badge {badge} is already on {l}")));
        }
        let pin = match row.get("pin").trim() {
            "" => None,
            p => Some(
                Pin::valid_for(p, roles.supervisor)
                    .map_err(|m| rows.err(row, "pin", m.to_string()))?,
            ),
        };
        let active = match row.get("active").trim().to_ascii_lowercase().as_str() {
            "" | "1" | "yes" | "true" | "在职" => true,
            "0" | "no" | "false" | "离职" => false,
            other => return Err(rows.err(row, "active", format!("{other:?} is not 1 or 0"))),
        };
        out.push(EmployeeRow {
            employee: Employee {
                active,
                ..Employee::new(&id, &name, roles, &badge)
            },
            pin,
        });
    }
    Ok(out)
}

pub fn parse_packaging(rows: &Rows) -> Result<Vec<Packaging>, ImportError> {
    let mut codes = HashMap::new();
    let mut out = Vec::new();
    for row in &rows.rows {
        let code = rows.required(row, "code")?.to_string();
        if let Some(l) = codes.insert(code.clone(), row.at()) {
            return Err(rows.err(row, "code", format!("{code} already appears on {l}")));
        }
        let name = rows.required(row, "name")?.to_string();
        let tare_g = rows.number(row, "tare_g", true)?.unwrap_or(0.0);
        out.push(Packaging { code, name, tare_g });
    }
    Ok(out)
}
