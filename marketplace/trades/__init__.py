"""Trades: carrying a match out, from a proposal (or a ring the solve found) to
parcels received — terms and counters, all-or-nothing reservations, addresses
shown only to whoever ships to them, reminders and expiry."""
