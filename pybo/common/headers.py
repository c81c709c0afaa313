"""Security headers on every response.

The policy allows only this site's own scripts, styles and images (plus `data:` images),
no plugins, no framing and no form posts elsewhere; templates therefore carry no inline
`<script>`, no `on*=` handlers and no `style=` attributes (JS lives in pybo/static/*.js
and reads `data-` attributes). A view may set its own `Content-Security-Policy` (the PDF
viewer does); it is kept.
"""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def add_security_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app):
    app.after_request(add_security_headers)
