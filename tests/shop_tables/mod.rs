//! The invented shop data of fixtures/shop-exports/ as tables in the contract's columns, for
//! the tests that import it (tests/import_shops.rs makes the files from them; tests/central.rs
//! imports them into a central database).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use packbench::import::Kind;
use packbench::store::ReferenceData;

/// One kind of data in the contract's columns, and the names a Chinese shop's files give them.
pub struct Table {
    pub kind: Kind,
    /// The contract's column, its name in the GB18030 CSV, its name in the workbook.
    pub columns: &'static [(&'static str, &'static str, &'static str)],
    pub rows: &'static [&'static [&'static str]],
    /// A column the shop system adds that is not imported: CSV name, workbook name, value.
    pub extra: (&'static str, &'static str, &'static str),
    pub sheet: &'static str,
    pub csv: &'static str,
}

#[rustfmt::skip]
pub const CATALOG: Table = Table {
    kind: Kind::Catalog,
    columns: &[
        ("sku", "商家编码", "商品编码"),
        ("name", "商品名称", "名称"),
        ("barcodes", "条形码", "条码"),
        // Full-width brackets, as a Chinese input method types them.
        ("unit_weight_g", "单品重量（g）", "重量(g)"),
        ("weight_tolerance_g", "允差（g）", "允差"),
        ("attributes", "属性", "规格"),
    ],
    rows: &[
        &["T-BLU-L", "纯棉T恤 蓝色 Cotton T-shirt", "6975432100137|6975432002134", "185", "", "colour=蓝;size=L"],
        &["SOCK-BLK", "精梳棉中筒袜 黑色 Cotton socks", "6975432201018", "40", "", "colour=黑;size=均码"],
        &["HOOD-GRY-L", "加绒连帽卫衣 Fleece hoodie", "6975432300537", "620", "", "colour=灰;size=L"],
        &["SCARF-RED", "羊毛围巾 Wool scarf", "6975432402101", "150", "", "colour=红"],
        &["TEA-LJ-250", "西湖龙井 散装 Longjing green tea 250g", "6958620002505", "262", "5", ""],
        &["LATIAO-106", "麻辣辣条 Spicy gluten strips 106g", "6924187710603|16924187710600*12", "112", "", "flavour=麻辣"],
        &["LIP-R01", "哑光口红 #01 豆沙色 Matte lipstick", "6921568310018", "22.5", "", "colour=豆沙色"],
        &["STICKER-LOGO", "品牌贴纸 Logo sticker", "INT-0042", "5", "", ""],
    ],
    extra: ("库存", "可用库存", "100"),
    sheet: "商品",
    csv: "catalog-gb18030.csv",
};

#[rustfmt::skip]
pub const ORDERS: Table = Table {
    kind: Kind::Orders,
    columns: &[
        ("order_no", "订单编号", "订单号"),
        ("waybill_no", "物流单号", "运单号"),
        ("carrier", "物流公司", "快递公司"),
        ("recipient", "收货人姓名", "收件人"),
        ("country", "国家", "国家"),
        ("address", "收货地址", "收货地址"),
        ("buyer_note", "买家留言", "订单备注"),
        ("sku", "商家编码", "商品编码"),
        ("qty", "购买数量", "数量"),
        ("picker_id", "拣货员", "拣货员"),
        ("gift", "赠品", "是否赠品"),
        ("status", "订单状态", "订单状态"),
    ],
    rows: &[
        &["TB20261122001", "SF1498369006026", "顺丰速运", "李娜", "CN", "浙江省杭州市西湖区文三路398号东信大厦12楼", "", "T-BLU-L", "1", "E001", "", ""],
        &["TB20261122001", "SF1498369006026", "顺丰速运", "李娜", "CN", "浙江省杭州市西湖区文三路398号东信大厦12楼", "", "SOCK-BLK", "2", "E001", "", ""],
        &["TB20261122003", "YT8837396401757", "圆通速递", "张晓燕", "CN", "上海市浦东新区张江镇祖冲之路887弄72号602室", "送人的请包装好看点", "TEA-LJ-250", "1", "", "", ""],
        &["TB20261122003", "YT8837396401757", "圆通速递", "张晓燕", "CN", "上海市浦东新区张江镇祖冲之路887弄72号602室", "送人的请包装好看点", "STICKER-LOGO", "1", "", "1", ""],
        &["TB20261122005", "7555606362246", "中通快递", "刘芳", "CN", "四川省成都市武侯区天府大道北段1700号环球中心E1区", "", "HOOD-GRY-L", "1", "", "", "cancelled"],
        &["TB20261122005", "7555606362246", "中通快递", "刘芳", "CN", "四川省成都市武侯区天府大道北段1700号环球中心E1区", "", "SCARF-RED", "1", "", "", "cancelled"],
        &["TB20261122007", "SF1497359296037", "顺丰速运", "孙浩", "CN", "湖南省长沙市岳麓区麓山南路932号湖南大学南校区", "", "LATIAO-106", "12", "E008", "", ""],
        &["AE8012345736", "LP00773038795076", "菜鸟 Cainiao", "Michael O'Brien", "US", "88 Harbor St, Unit 5, Boston, MA 02110, United States", "Color: blue please, not black", "SOCK-BLK", "2", "E007", "", ""],
        &["AE8012345736", "LP00773038795076", "菜鸟 Cainiao", "Michael O'Brien", "US", "88 Harbor St, Unit 5, Boston, MA 02110, United States", "Color: blue please, not black", "LIP-R01", "1", "E007", "", ""],
    ],
    extra: ("买家会员名", "买家昵称", "tb_buyer"),
    sheet: "订单",
    csv: "orders-gb18030.csv",
};

#[rustfmt::skip]
pub const EMPLOYEES: Table = Table {
    kind: Kind::Employees,
    columns: &[
        ("id", "工号", "员工编号"),
        ("name", "姓名", "员工姓名"),
        ("roles", "角色", "岗位"),
        ("badge", "工牌", "工牌号"),
    ],
    rows: &[
        &["E001", "王芳", "picker", "BADGE-E001"],
        &["E002", "李强", "picker|packer", "BADGE-E002"],
        &["E004", "Lucy Chen", "packer", "BADGE-E004"],
        &["E005", "刘洋", "supervisor", "BADGE-E005"],
        &["E006", "陈静", "packer|supervisor", "BADGE-E006"],
        &["E007", "Tom Zhao", "picker", "BADGE-E007"],
        &["E008", "赵磊", "picker|packer", "BADGE-E008"],
    ],
    extra: ("部门", "部门", "仓库"),
    sheet: "员工",
    csv: "employees-gb18030.csv",
};

#[rustfmt::skip]
pub const PACKAGING: Table = Table {
    kind: Kind::Packaging,
    columns: &[
        ("code", "包材编码", "包材条码"),
        ("name", "包材名称", "名称"),
        ("tare_g", "皮重(g)", "皮重"),
    ],
    rows: &[
        &["PKG-BAG-M", "快递袋 中号 Poly mailer M", "18"],
        &["PKG-ENV-B", "气泡信封 Bubble envelope", "22"],
        &["PKG-BOX-S", "小号纸箱 Small carton", "120"],
    ],
    extra: ("单价", "单价", "0.35"),
    sheet: "包材",
    csv: "packaging-gb18030.csv",
};

pub const TABLES: [&Table; 4] = [&CATALOG, &ORDERS, &EMPLOYEES, &PACKAGING];

pub fn shop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop-exports")
}

/// Records of a table as an import report counts them: orders, not order lines.
pub fn records(t: &Table) -> usize {
    let mut keys: Vec<&str> = t.rows.iter().map(|r| r[0]).collect();
    keys.dedup();
    keys.len()
}

pub fn col(t: &Table, name: &str) -> usize {
    t.columns.iter().position(|c| c.0 == name).unwrap()
}

/// The contract's own CSV: UTF-8, contract column names, LF.
pub fn contract_csv(t: &Table) -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(t.columns.iter().map(|c| c.0)).unwrap();
    for r in t.rows {
        w.write_record(*r).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// The contract's own CSVs of TABLES, in `dir`.
pub fn write_contract_files(dir: &Path) -> Vec<PathBuf> {
    TABLES
        .iter()
        .map(|t| {
            let p = dir.join(format!("{}.csv", t.kind.name()));
            std::fs::write(&p, contract_csv(t)).unwrap();
            p
        })
        .collect()
}

/// What a store holds for a bench: catalog, staff, packaging and every order of ORDERS, in
/// one text to compare.
pub fn snapshot_of(s: &dyn ReferenceData) -> String {
    let mut catalog = s.load_catalog().unwrap();
    catalog.sort_by(|a, b| a.sku.cmp(&b.sku));
    let mut employees = s.employees().unwrap();
    employees.sort_by(|a, b| a.id.cmp(&b.id));
    let mut packaging = s.packagings().unwrap();
    packaging.sort_by(|a, b| a.code.cmp(&b.code));
    let mut out = format!("{catalog:#?}\n{employees:#?}\n{packaging:#?}\n");
    let mut order_nos: Vec<&str> = ORDERS.rows.iter().map(|r| r[0]).collect();
    order_nos.dedup();
    for no in order_nos {
        let order = s.find_order(no).unwrap();
        let now = s.order_now(no).unwrap();
        assert!(order.is_some(), "{no} imported");
        out.push_str(&format!("{order:#?}\n{now:#?}\n"));
    }
    out
}
