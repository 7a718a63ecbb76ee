"""Inbound channel adapters: platform webhooks (Shopify, WooCommerce) and CSV
batches turned into orders through orders.services.order_place.

    common.py      signature check, money / address / SKU mapping shared by the adapters
    shopify.py     Shopify `orders/create` payload -> OrderInput
    woocommerce.py WooCommerce order payload -> OrderInput
    csv_import.py  CSV rows grouped per order -> one intake each
    services.py    inbound_order_receive / _retry / _reject (the intake record)
    gateway.py     the "platform" payment gateway: the platform took the money
    api.py         webhook endpoints (signature-authenticated) and the staff API
"""
