"""Views: one module per command (rich tables, JSON-ready dicts, tidy records) and one module for the
output formats they share (:mod:`.formats`). Nothing here prints."""
