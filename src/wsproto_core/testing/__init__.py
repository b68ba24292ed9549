"""The conformance kit: test any WebSocket server or client against RFC 6455.

A Python 3 successor to the Autobahn Testsuite, built on this library's core:

* :mod:`.catalogue`: the cases, by Autobahn's numbers (families 1 to 7, 9, 10,
  12, 13) and in our own groups (``rules``, ``deflate``, ``handshake``, ``legacy``,
  ``limits``).
* :mod:`.cases`: what a case is: the peer's script, what must come back, the
  verdicts (OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED).
* :mod:`.engine`: the conformance peer, sans-IO: plays a case in either role and judges it.
* :mod:`.runner`: plays cases against a server at a ``ws://`` or ``wss://`` URL.
* :mod:`.fuzzing_server`: plays them against clients, speaking Autobahn's
  fuzzing server protocol.
* :mod:`.memory`: plays them against a sans-IO connection in the same process.
* :mod:`.report`: the JSON and self-contained HTML reports.
* :mod:`.pytest_plugin`: the ``conformance`` fixture and one test per case.
* :mod:`.properties`: the property mode, scripts drawn by hypothesis.
* :mod:`.strategies`: hypothesis strategies for frames, messages, chunkings,
  close codes, UTF-8, handshakes and extension offers.
* :mod:`.wire`: frames as a conformance peer sends them, broken ones included.

:mod:`.properties` and :mod:`.strategies` need hypothesis
(``pip install wsproto-core[testing]``); nothing here is imported by
``import wsproto_core``. The command line: ``python -m wsproto_core conformance``.
"""
