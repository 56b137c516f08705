"""Email as durable work: stored messages, the SMTP and development transports,
delivery with retries, the state of each address, and the development outbox page.
"""
