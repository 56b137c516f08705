"""Feedback after a completed trade or a delivered order: each party rates each
counterpart once (editable for a while, one reply), and the reputation it feeds."""
