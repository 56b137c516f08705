"""Collectors' accounts: sign-up, login sessions, email verification, password reset,
personal access tokens, and the account settings pages.
"""
