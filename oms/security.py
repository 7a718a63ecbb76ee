"""A Content-Security-Policy header on the HTML pages (Django 5.2 has none
built in).

The dashboard, the admin and the customers' pages load scripts only from
/static/ (htmx, plotly, oms/dashboard.js) and have no inline scripts or event
handler attributes, so `script-src 'self'` holds: an injected <script> or
onerror= does not run even if some escaping were missed. Styles allow
'unsafe-inline' because the dashboard and the admin have inline <style>
blocks and htmx adds its indicator style; CSS cannot run script.
"""

from __future__ import annotations

from django.conf import settings

# Swagger UI and ReDoc (drf-spectacular) bootstrap with inline scripts.
_DEFAULT_EXEMPT = ("/api/docs/", "/api/redoc/")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        exempt = tuple(getattr(settings, "CONTENT_SECURITY_POLICY_EXEMPT", _DEFAULT_EXEMPT))
        if (
            policy
            and "Content-Security-Policy" not in response
            and response.get("Content-Type", "").startswith("text/html")
            and not request.path.startswith(exempt)
        ):
            response["Content-Security-Policy"] = policy
        return response
