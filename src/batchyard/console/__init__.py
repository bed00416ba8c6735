"""The web console: static pages that sign their own API calls in the browser.

The server hands out files and the list of regions it serves, nothing more; the page calls the API at
``/`` with TC3 signatures as any SDK does, so a console user can do exactly what the key pair allows.
"""
