"""The issuer's business logic (issue 3): organization identity, agent
onboarding and lifecycle, users and roles, status lists, W3C VC API issuance.

The FastAPI routes in ``issuer/`` parse, call one function here, and render.
Everything here is synchronous (crypto and SQLAlchemy's sync engine); the
service runs it in a thread pool.
"""
