"""Staff API for stock operations: adjust, write off, put away, move between
bins, transfers and cycle counts, and where the units are (bin stock).

Thin by design: each view parses its input (codes become rows; a bin code is
looked up in the operation's warehouse), calls one service of
inventory.operations and renders the result. The rules, and the errors they
raise (mapped to 4xx with field names by oms.api.errors), live in the services,
which are all or nothing.
"""

from .counts import urlpatterns as count_urls
from .stock import urlpatterns as stock_urls
from .transfers import urlpatterns as transfer_urls

urlpatterns = [*stock_urls, *transfer_urls, *count_urls]
