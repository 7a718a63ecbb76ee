"""Staff API for suppliers and purchase orders.

Thin like inventory.api_operations: codes in (supplier, warehouse, SKU, bin),
one service of inventory.purchasing per write, the order out. The rules (MOQ,
pack size, transitions, over-receipt tolerance) and their errors live in the
services, which are all or nothing; oms.api.errors maps the errors to 4xx
naming the field.
"""

from .actions import urlpatterns as action_urls
from .orders import urlpatterns as order_urls
from .suppliers import urlpatterns as supplier_urls

urlpatterns = [*supplier_urls, *order_urls, *action_urls]
