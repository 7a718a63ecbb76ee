"""The dashboard's own pages: sign in."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.shortcuts import render
from django.utils import translation

from oms.auth_backends import login_throttled
from oms.dashboard import dashboard_language


class DashboardLogin(LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if login_throttled(request, request.POST.get("username")):
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
            context = {"throttled": True, "minutes": minutes, "next": request.POST.get("next", "")}
            return render(request, self.template_name, context, status=429)
        return super().post(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        with translation.override(dashboard_language(request)):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
        return response
