"""Reports of messages, profiles, listings and feedback, and the moderators'
queue that answers them: dismiss, warn, hide or suspend."""
