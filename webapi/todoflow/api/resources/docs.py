"""/docs: Swagger UI served from the pinned swagger-ui-bundle package (no CDN), under a strict CSP.

The page has no inline script: init.js (ours) starts Swagger UI on /openapi.json, so the CSP can say
script-src 'self' (security_headers.DOCS_CSP). It shows each operation's operationId: the name generated clients
give the method.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

# A plain Flask blueprint: apiflask leaves it out of the OpenAPI document.
bp = Blueprint("docs", __name__)

ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"})

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>todoflow API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui" data-spec-url="/openapi.json"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

INIT = """window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout"
  });
});
"""


@bp.get("/docs")
def page() -> Response:
    """Answer the Swagger UI page."""
    return Response(PAGE, mimetype="text/html")


@bp.get("/docs/init.js")
def init_script() -> Response:
    """Answer the script that starts Swagger UI on /openapi.json."""
    return Response(INIT, mimetype="text/javascript")


@bp.get("/docs/<name>")
def asset(name: str) -> Response:
    """One file of the pinned Swagger UI; nothing else of the package (or the disk) is reachable."""
    if name not in ASSETS:
        abort(404)
    response = send_from_directory(str(swagger_ui_path), name, max_age=24 * 3600)
    return response
