"""The default chart of accounts, seeded by migration; staff edit it in the admin."""

from __future__ import annotations

# code, name, type, what posts to it
DEFAULT_CHART = [
    ("1000", "Cash at bank", "asset", "Customer and supplier payments settle here."),
    ("1100", "Card clearing", "asset", "Captured card payments until the processor pays out."),
    ("1200", "Accounts receivable", "asset", "B2B invoices issued and not yet paid."),
    ("1300", "Inventory", "asset", "Stock at cost: receipts in, shipments and write-offs out."),
    ("2000", "Accounts payable", "liability", "Supplier invoices not yet paid."),
    ("2100", "Goods received not invoiced", "liability", "Receipts awaiting the supplier's invoice."),
    ("2200", "Sales tax / VAT payable", "liability", "Tax collected on sales."),
    ("2300", "Customer refunds payable", "liability", "Refunds agreed and not yet paid out."),
    ("3000", "Owner's equity", "equity", "Capital."),
    ("3100", "Retained earnings", "equity", "Profit kept from closed years."),
    ("4000", "Sales revenue", "revenue", "Goods sold, net of discounts and tax."),
    ("4100", "Shipping income", "revenue", "Shipping charged to customers."),
    ("4900", "Sales returns and allowances", "revenue", "Refunds of goods (a contra-revenue account)."),
    ("5000", "Cost of goods sold", "expense", "Stock shipped, at moving-average cost."),
    ("5100", "Inventory write-offs", "expense", "Stock written off or scrapped."),
    ("5200", "Carrier shipping costs", "expense", "What the carriers charge."),
    ("5300", "Restocking and handling", "expense", "Returns handling."),
    ("7900", "Foreign exchange gains and losses", "expense", "Realised FX differences on settlement."),
    ("7990", "Currency conversion rounding", "expense", "Minor units left by converting postings."),
]


def default_chart_create() -> int:
    """Create the default accounts that are missing (the migration does it on
    a new database; a flushed one, e.g. after a transactional test, needs it
    again). Existing accounts are left as staff edited them. Returns how many
    were created."""
    from .models import Account

    created = 0
    for code, name, type_, description in DEFAULT_CHART:
        _, made = Account.objects.get_or_create(
            code=code, defaults={"name": name, "type": type_, "description": description}
        )
        created += made
    return created
