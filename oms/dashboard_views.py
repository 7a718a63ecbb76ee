"""The dashboard's own pages: sign in."""

from __future__ import annotations

from django.contrib.auth.views import LoginView
from django.utils import translation

from oms.dashboard import dashboard_language


class DashboardLogin(LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True

    def dispatch(self, request, *args, **kwargs):
        with translation.override(dashboard_language(request)):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
        return response
