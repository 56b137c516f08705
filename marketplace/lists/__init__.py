"""Have and Want lists: entries and their photos, CSV import (stage, preview, apply)
and export, series completion and the public collection page.
"""
