"""/openapi.json and /docs: the OpenAPI document, and a self-contained HTML rendering of it.

/docs is rendered on the server from the same document, with no script or style fetched from the
internet (many SOC networks cannot reach CDNs, and the service must not call out).
"""

from __future__ import annotations

import html
from typing import Any

import msgspec
from litestar import Request, Response, get

_encode = msgspec.json.Encoder().encode


def _schema(request: Request) -> dict[str, Any]:
    cached = request.app.state.get("openapi_document")
    if cached is None:
        cached = request.app.openapi_schema.to_schema()
        request.app.state["openapi_document"] = cached
    return cached


@get("/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_json(request: Request) -> Response[bytes]:
    return Response(_encode(_schema(request)), media_type="application/json")


@get("/docs", include_in_schema=False, sync_to_thread=False)
def docs(request: Request) -> Response[str]:
    return Response(render_docs(_schema(request)), media_type="text/html; charset=utf-8")


_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24;background:#fff}
@media (prefers-color-scheme:dark){body{color:#e6e6e6;background:#15181c}code,table{background:#1f2328}}
h2{margin-top:2.5rem;border-bottom:1px solid #8884}code{font-size:90%;padding:.1rem .3rem;background:#f2f3f5;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #8884;padding:.3rem .5rem;text-align:left;vertical-align:top}
.method{font-weight:700;text-transform:uppercase;margin-right:.5rem}
"""


def render_docs(schema: dict[str, Any]) -> str:
    info = schema.get("info", {})
    esc = html.escape
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>{esc(info.get('title', 'API'))} reference</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(info.get('title', 'API'))} <small>{esc(str(info.get('version', '')))}</small></h1>",
        f"<p>{esc(info.get('description', ''))}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Authenticate with "
        "<code>Authorization: Bearer sk_live_…</code> or <code>X-API-Key</code>.</p>",
    ]
    for path, item in sorted(schema.get("paths", {}).items()):
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            parts.append(f"<h2><span class=method>{esc(method)}</span><code>{esc(path)}</code></h2>")
            parts.append(f"<p><strong>{esc(operation.get('summary', ''))}</strong></p>")
            if operation.get("description"):
                parts.append(f"<p>{esc(operation['description'])}</p>")
            parameters = operation.get("parameters", [])
            if parameters:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>values</th></tr>")
                for parameter in parameters:
                    parts.append(
                        f"<tr><td><code>{esc(parameter.get('name', ''))}</code></td>"
                        f"<td>{esc(parameter.get('in', ''))}</td>"
                        f"<td>{esc(parameter.get('description', '') or '')}</td></tr>"
                    )
                parts.append("</table>")
            codes = ", ".join(sorted(operation.get("responses", {})))
            if codes:
                parts.append(f"<p>Responses: {esc(codes)}</p>")
    parts.append("</body></html>")
    return "".join(parts)
