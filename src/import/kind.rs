//! The four kinds of file and their columns: the contract's names and the Chinese ones
//! shop systems use.

#[allow(unused_imports)]
use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Catalog,
    Orders,
    Employees,
    Packaging,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Catalog,
        Kind::Orders,
        Kind::Employees,
        Kind::Packaging,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Catalog => "catalog",
            Kind::Orders => "orders",
            Kind::Employees => "employees",
            Kind::Packaging => "packaging",
        }
    }

    /// What one record of this kind is called, counted ("12 SKUs").
    pub fn records_noun(self) -> &'static str {
        match self {
            Kind::Catalog => "SKUs",
            Kind::Orders => "orders",
            Kind::Employees => "employees",
            Kind::Packaging => "packaging types",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Columns every file of this kind must have.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Catalog => CATALOG_COLUMNS,
            Kind::Orders => ORDER_COLUMNS,
            Kind::Employees => EMPLOYEE_COLUMNS,
            Kind::Packaging => PACKAGING_COLUMNS,
        }
    }

    pub fn optional(self) -> &'static [&'static str] {
        match self {
            Kind::Catalog => &["weight_tolerance_g", "attributes"],
            Kind::Orders => &["picker_id", "gift", "status"],
            Kind::Employees => &["pin", "active"],
            Kind::Packaging => &[],
        }
    }

    /// Whether a file of this kind is checked against the stored catalog: an order's SKUs
    /// must be in it, a catalog's barcodes must not belong to another SKU.
    pub fn checks_catalog(self) -> bool {
        matches!(self, Kind::Catalog | Kind::Orders)
    }

    /// Every contract column of this kind, required first.
    pub fn columns(self) -> impl Iterator<Item = &'static str> {
        self.required().iter().chain(self.optional()).copied()
    }

    pub(super) fn column(self, name: &str) -> Option<&'static str> {
        self.columns().find(|c| *c == name)
    }

    /// Column names shop systems use (淘宝/千牛, 旺店通, 聚水潭, Excel templates), in
    /// [`header_key`] form.
    pub(super) fn aliases(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Orders => &[
                ("订单号", "order_no"),
                ("订单编号", "order_no"),
                ("主订单编号", "order_no"),
                ("平台订单号", "order_no"),
                ("运单号", "waybill_no"),
                ("运单编号", "waybill_no"),
                ("物流单号", "waybill_no"),
                ("快递单号", "waybill_no"),
                ("面单号", "waybill_no"),
                ("快递公司", "carrier"),
                ("物流公司", "carrier"),
                ("承运商", "carrier"),
                ("收件人", "recipient"),
                ("收件人姓名", "recipient"),
                ("收货人", "recipient"),
                ("收货人姓名", "recipient"),
                ("国家", "country"),
                ("国家/地区", "country"),
                ("收货国家", "country"),
                ("收货地址", "address"),
                ("收件地址", "address"),
                ("详细地址", "address"),
                ("买家留言", "buyer_note"),
                ("订单备注", "buyer_note"),
                ("买家备注", "buyer_note"),
                ("商品编码", "sku"),
                ("商家编码", "sku"),
                ("货品编码", "sku"),
                ("规格编码", "sku"),
                ("数量", "qty"),
                ("购买数量", "qty"),
                ("商品数量", "qty"),
                ("拣货员", "picker_id"),
                ("拣货员工号", "picker_id"),
                ("赠品", "gift"),
                ("是否赠品", "gift"),
                ("订单状态", "status"),
            ],
            Kind::Catalog => &[
                ("商品编码", "sku"),
                ("商家编码", "sku"),
                ("货品编码", "sku"),
                ("规格编码", "sku"),
                ("商品名称", "name"),
                ("货品名称", "name"),
                ("名称", "name"),
                ("品名", "name"),
                ("条码", "barcodes"),
                ("条形码", "barcodes"),
                ("商品条码", "barcodes"),
                ("单品重量(g)", "unit_weight_g"),
                ("单品重量", "unit_weight_g"),
                ("重量", "unit_weight_g"),
                ("重量(g)", "unit_weight_g"),
                ("重量(克)", "unit_weight_g"),
                ("允差", "weight_tolerance_g"),
                ("允差(g)", "weight_tolerance_g"),
                ("重量允差(g)", "weight_tolerance_g"),
                ("属性", "attributes"),
                ("规格", "attributes"),
                ("销售属性", "attributes"),
            ],
            Kind::Employees => &[
                ("工号", "id"),
                ("员工编号", "id"),
                ("员工工号", "id"),
                ("姓名", "name"),
                ("员工姓名", "name"),
                ("角色", "roles"),
                ("岗位", "roles"),
                ("工牌", "badge"),
                ("工牌号", "badge"),
                ("工牌条码", "badge"),
                ("密码", "pin"),
                ("pin码", "pin"),
                ("在职", "active"),
                ("状态", "active"),
            ],
            Kind::Packaging => &[
                ("包材编码", "code"),
                ("包材条码", "code"),
                ("名称", "name"),
                ("包材名称", "name"),
                ("皮重", "tare_g"),
                ("皮重(g)", "tare_g"),
                ("包材重量(g)", "tare_g"),
            ],
        }
    }
}
