"""What a collector is told and how: per-kind preferences (instant, digest, off), match
notifications and digests, one-click unsubscribe.
"""
