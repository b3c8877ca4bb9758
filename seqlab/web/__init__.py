"""`seqlab serve`: the tasks in a browser, one page each, on this machine.

The server (Starlette on uvicorn, Jinja2 templates) lives in `app.py`; each page is one
module of `pages/` named in `registry.PAGE_MODULES`. Everything the browser loads ships in
`templates/` and `static/`: nothing comes from another host.

This package imports nothing on its own, so `seqlab --help` never pays for the web stack.
"""
