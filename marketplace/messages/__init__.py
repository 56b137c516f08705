"""Messages between collectors: a thread per trade and per order, direct threads
between any two collectors, unread counts and mail for each new message."""
