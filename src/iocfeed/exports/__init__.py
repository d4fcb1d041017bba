"""Export formats built from store rows: pure functions and generators, no HTTP.

The API's export endpoints (and the TAXII routes, which live in `iocfeed.api`) stream what these
modules produce; nothing here imports the API.
"""
