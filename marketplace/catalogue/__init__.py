"""The pin catalogue: variant-level pin records and their revisions, search in any
script, themes and series, photos, member submissions and moderation.
"""
