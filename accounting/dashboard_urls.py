"""Dashboard pages of this app (included under /dashboard/ by oms/dashboard_urls.py)."""

from django.urls import path

from . import dashboard

urlpatterns = [
    path("", dashboard.accounting_overview, name="accounting"),
    path("trial-balance/", dashboard.accounting_trial_balance, name="accounting_trial_balance"),
    path("profit-and-loss/", dashboard.accounting_profit_and_loss, name="accounting_profit_and_loss"),
    path("ar-aging/", dashboard.accounting_ar_aging, name="accounting_ar_aging"),
]
