"""Momentum's tools: the interactive client (and its benchmark mode) and the stress tester.

Terminal-free logic lives here; `momentum/cli/_client.py` and `_stress.py` parse flags.
"""

from ._benchmark import BenchmarkPlan, run_benchmark
from ._client import ClientSession
from ._commands import HELP, Command, parse_command
from ._driver import StressOptions, run_stress
from ._http import HttpError, ServerUnreachable, ToolError
from ._identity import Credentials, Login, credentials_from_token, obtain_credentials
from ._interactive import InteractiveClient, Terminal
from ._outcome import EXIT_ERROR, EXIT_FAILED, EXIT_PASSED, EXIT_RATE_LIMITED, describe_close
from ._pacer import SERVER_RATE_BURST, SERVER_RATE_LIMIT, Pacer
from ._room_driver import RoomStressOptions, run_room_stress
from ._room_load import ROOM_TEST_TYPES, RoomPlan
from ._soak import SoakPlan
from ._soak_driver import SoakOptions, run_soak
from ._stats import LatencySummary, Tally, percentile
from ._stress import TEST_TYPES, StressPlan
from ._terminal import open_terminal
from ._ws import WIRE_FORMATS, HandshakeRefused

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_PASSED",
    "EXIT_RATE_LIMITED",
    "HELP",
    "ROOM_TEST_TYPES",
    "SERVER_RATE_BURST",
    "SERVER_RATE_LIMIT",
    "TEST_TYPES",
    "WIRE_FORMATS",
    "BenchmarkPlan",
    "ClientSession",
    "Command",
    "Credentials",
    "HandshakeRefused",
    "HttpError",
    "InteractiveClient",
    "LatencySummary",
    "Login",
    "Pacer",
    "RoomPlan",
    "RoomStressOptions",
    "ServerUnreachable",
    "SoakOptions",
    "SoakPlan",
    "StressOptions",
    "StressPlan",
    "Tally",
    "Terminal",
    "ToolError",
    "credentials_from_token",
    "describe_close",
    "obtain_credentials",
    "open_terminal",
    "parse_command",
    "percentile",
    "run_benchmark",
    "run_room_stress",
    "run_soak",
    "run_stress",
]
