"""The dashboard: one page of plain HTML, JavaScript and CSS that the API serves itself.

`static/` holds the page (package data, no build step); `assets` finds those files and the
charting library, which comes from a Python dependency (the `plotly` wheel ships `plotly.min.js`),
so the page needs nothing from the internet at run time. `tally` picks the busiest SKUs from the
live view's change list; `schemas` holds the answers of the dashboard's read-only endpoints
(`api.routes.dashboard`).
"""
