"""Matches kept in the database: two-way swaps and one-way offers refreshed per
collector as lists change, and the global solve that proposes rings.
"""
