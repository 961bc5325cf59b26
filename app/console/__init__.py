"""The web console at `/console`: server-rendered pages (Jinja2 templates, plain HTML forms that work without
JavaScript) and a little of our own JavaScript for live updates and inline actions; every asset is served from
`static/` by this server. A presentation layer beside `app.api`: it calls `app.services` only, with the same
roles and audit. README.md beside this file says how to add a page.
"""
