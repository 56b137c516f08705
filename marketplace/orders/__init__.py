"""Buying and selling listed pins: checkout with reservations, Stripe events,
fulfilment, refunds and disputes, sellers' payouts and the price guide.
"""
