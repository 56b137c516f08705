"""What every feature stands on: the database and unit of work, errors as HTTP and
problem+json, the transactional outbox, the service registry, pagination, photo
handling and the shared task policy. Core imports no feature.
"""
