from django.urls import include, path

from . import catalog, views

urlpatterns = [
    path("skus/", catalog.SKUList.as_view(), name="sku-list"),
    path("skus/<str:code>/", catalog.SKUDetail.as_view(), name="sku-detail"),
    path("availability/", catalog.Availability.as_view(), name="availability"),
    path("orders/", views.OrderList.as_view(), name="order-list"),
    path("orders/<int:pk>/", views.OrderDetail.as_view(), name="order-detail"),
    path("orders/<int:pk>/cancel/", views.OrderCancel.as_view(), name="order-cancel"),
    path("carts/", views.CartCreate.as_view(), name="cart-create"),
    path("carts/<uuid:cart_id>/", views.CartDetail.as_view(), name="cart-detail"),
    path("carts/<uuid:cart_id>/lines/", views.CartLines.as_view(), name="cart-lines"),
    path("carts/<uuid:cart_id>/lines/<str:sku>/", views.CartLineDetail.as_view(), name="cart-line"),
    path("carts/<uuid:cart_id>/checkout/", views.CartCheckout.as_view(), name="cart-checkout"),
    path("", include("orders.api.quotes")),
]
