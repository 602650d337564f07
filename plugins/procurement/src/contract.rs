//! The typed contract of purchasing's operations: what each reads and
//! answers. The kernel publishes it in the tenant's OpenAPI document and
//! checks each request body and query against it before the plugin runs.

use keel_sdk::contract::{Contract, JsonSchema, Schemas};
use serde::Deserialize;

use crate::rules::documents::{Invoice, Order, Receipt, Requisition, Supplier};
use crate::rules::order::{RequisitionStatus, Status};
use crate::rules::settings::Settings;

/// The file beside `keel.toml` that the package embeds.
#[cfg(test)]
pub(crate) const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keel.contract.json");

/// Every operation, with its schemas.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the native test writes keel.contract.json from it")
)]
pub(crate) fn contract() -> Contract {
    Contract::new()
        .operation("suppliers.create", Schemas::new().request::<Supplier>().response::<Supplier>())
        .operation("suppliers.list", Schemas::new().response::<SupplierPage>())
        .operation(
            "requisitions.create",
            Schemas::new().request::<NewRequisition>().response::<Requisition>(),
        )
        .operation(
            "requisitions.list",
            Schemas::new().query::<RequisitionsQuery>().response::<RequisitionPage>(),
        )
        .operation("orders.create", Schemas::new().request::<OrderBody>().response::<Order>())
        .operation("orders.list", Schemas::new().query::<OrdersQuery>().response::<OrderPage>())
        .operation("orders.get", Schemas::new().response::<OrderDetail>())
        .operation("orders.approve", Schemas::new().response::<Order>())
        .operation("orders.receive", Schemas::new().request::<ReceiptBody>().response::<Receipt>())
        .operation("orders.invoice", Schemas::new().request::<InvoiceBody>().response::<Invoice>())
        .operation("settings.get", Schemas::new().response::<Settings>())
        .operation("settings.put", Schemas::new().request::<Settings>().response::<Settings>())
}

/// `GET /requisitions?status=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct RequisitionsQuery {
    /// Only requisitions in this state.
    status: Option<RequisitionStatus>,
}

/// `GET /orders?status=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct OrdersQuery {
    /// Only orders in this state.
    status: Option<Status>,
}

/// A page of suppliers.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct SupplierPage {
    /// The suppliers, by code.
    pub(crate) suppliers: Vec<Supplier>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// A page of requisitions.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct RequisitionPage {
    /// The requisitions, by number.
    pub(crate) requisitions: Vec<Requisition>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// A page of purchase orders.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct OrderPage {
    /// The orders, by number.
    pub(crate) orders: Vec<Order>,
    /// Where the next page starts; null on the last.
    pub(crate) cursor: Option<String>,
}

/// A purchase order with what was received and invoiced against it.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct OrderDetail {
    /// The order.
    pub(crate) order: Order,
    /// Its goods receipts, oldest first.
    pub(crate) receipts: Vec<Receipt>,
    /// The supplier's invoices matched to it.
    pub(crate) invoices: Vec<Invoice>,
}

/// A request to buy an item.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRequisition {
    /// The item's code.
    pub(crate) item: String,
    /// How many, as a decimal string, more than zero.
    pub(crate) quantity: String,
}

/// A line of an order or an invoice, as a client sends it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PricedBody {
    /// The item's code.
    pub(crate) item: String,
    /// Units, a decimal string more than zero.
    pub(crate) quantity: String,
    /// The price of one unit, a decimal string, zero or more.
    pub(crate) unit_price: String,
}

/// A purchase order, as a client raises it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderBody {
    /// The supplier's code.
    pub(crate) supplier: String,
    /// The order's date.
    #[schemars(with = "keel_values::Date")]
    pub(crate) date: String,
    /// Where the goods are to be received.
    pub(crate) location: String,
    /// What is ordered.
    pub(crate) lines: Vec<PricedBody>,
    /// The draft requisitions it orders, by number.
    #[serde(default)]
    pub(crate) requisitions: Vec<String>,
}

/// A line of goods received.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReceivedBody {
    /// The item's code.
    pub(crate) item: String,
    /// Units received, a decimal string more than zero.
    pub(crate) quantity: String,
    /// For stock providers that track lots.
    #[serde(default)]
    pub(crate) lot: Option<LotBody>,
}

/// The lot goods arrived in.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LotBody {
    /// The lot's code.
    pub(crate) code: String,
    /// When it expires, if it does.
    #[serde(default)]
    #[schemars(with = "Option<keel_values::Date>")]
    pub(crate) expires: Option<String>,
}

/// Goods received against an order.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReceiptBody {
    /// When they arrived.
    #[schemars(with = "keel_values::Date")]
    pub(crate) date: String,
    /// The order's location when absent.
    #[serde(default)]
    pub(crate) location: Option<String>,
    pub(crate) lines: Vec<ReceivedBody>,
}

/// A supplier's invoice for an order.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvoiceBody {
    /// The supplier's invoice number.
    pub(crate) invoice: String,
    /// The invoice's date.
    #[schemars(with = "keel_values::Date")]
    pub(crate) date: String,
    /// The supplier's payment terms from `date` when absent.
    #[serde(default)]
    #[schemars(with = "Option<keel_values::Date>")]
    pub(crate) due: Option<String>,
    pub(crate) lines: Vec<PricedBody>,
}
