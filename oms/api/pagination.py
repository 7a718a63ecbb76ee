from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination

from oms.errors import InvalidInput


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        # DRF answers a bad page number with a 404, as if the list did not
        # exist; it is bad input, so a 400 naming the parameter.
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise InvalidInput.field(self.page_query_param, str(exc.detail), code="invalid_page") from None
