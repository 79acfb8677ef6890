"""Local test doubles shipped with sopbench.

Real servers on 127.0.0.1 that stand in for the outside world (a throwaway
PostgreSQL today; HTTP doubles of the integrations later). The test suite
and ``sopbench sandbox`` use them; nothing else in sopbench imports this
package.
"""

__all__: list[str] = []
