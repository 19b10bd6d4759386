"""LoadSpiker: load tests in Python on a C++ engine.

    from loadspiker import Engine, Scenario
    from loadspiker.assertions import status_is

    engine = Engine()
    s = Scenario("api")
    s.get("http://127.0.0.1:8080/json", assertions=[status_is(200)])
    result = engine.run_scenario(s, users=50, duration=10)
    print(result["requests_per_second"], result.percentile(99))
"""

from . import _engine
from .engine import Engine, RunError
from .result import Result
from .scenarios import (DatabaseScenario, HTTPRequest, MixedProtocolScenario, MQTTScenario,
                        ProtocolNotAvailable, RESTAPIScenario, Scenario, Step, TCPScenario,
                        UDPScenario, WebSocketScenario, WebsiteScenario)
from .vu import AsyncVU, Response, StopUser, UserScenario, VU, scenario

ConfigError = _engine.SetupError  # a URL or option the engine refuses (a ValueError)
__version__ = _engine.version

__all__ = [
    "Engine", "RunError", "ConfigError", "Result", "Scenario", "HTTPRequest", "Step",
    "RESTAPIScenario", "WebsiteScenario", "WebSocketScenario", "TCPScenario", "UDPScenario",
    "MixedProtocolScenario", "DatabaseScenario", "MQTTScenario", "ProtocolNotAvailable",
    "Response", "VU", "AsyncVU", "StopUser", "UserScenario", "scenario", "__version__",
]
