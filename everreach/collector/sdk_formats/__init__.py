"""Translators from third-party SDK wire formats (PostHog, Segment) to our `Submission`.

Each module turns one SDK's request body into plan events, SDK system events and identity
claims; the API edge then runs them through the same pipeline as /v1/ingest.
"""
