"""The conformance kit: test any WebSocket server or client against RFC 6455.

* :mod:`.wire`: frames as a conformance peer sends them, broken ones included.
"""
