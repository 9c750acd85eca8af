"""A WSGI application whose gunicorn workers each run a modloader host."""
