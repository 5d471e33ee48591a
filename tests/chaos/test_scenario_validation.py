"""Scenario files: the model a valid file becomes, and one-line errors for each bad input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from chaos.errors import ScenarioError, UserError
from chaos.scenario import (
    Backend,
    ClearFaults,
    ClearToxics,
    Close,
    CloseConnections,
    Connect,
    Cut,
    ExpectStatus,
    Fault,
    Idle,
    Query,
    QueryExpect,
    Reconnect,
    Repeat,
    Restore,
    Toxic,
    Wait,
    iter_steps,
    load,
    load_all,
    parse,
)

FULL = """\
name: every-step
description: Uses every step once.
time_scale: 120
gateway: {idle_timeout: 5m, limits: {frame_bytes: 1024}}
client: {heartbeat_interval: null, max_reconnect_attempts: 5, query_timeout: 20s}
steps:
  - connect
  - query: {text: "S3 spend", expect: {transport: rest, within: 30s, max_reconnects: 2}}
  - query
  - idle: 11m
  - wait: 250ms
  - cut: websocket
  - restore: all
  - toxic: {target: rest, type: latency, stream: upstream, toxicity: 0.5,
            name: slow, attributes: {latency: 100, jitter: 10}}
  - clear_toxics: rest
  - clear_toxics
  - fault: {type: delay_replies, route: finops_query, delay: 2s, for: 1m}
  - clear_faults
  - backend: {action: post, data: {hello: 1}}
  - close_connections: {abrupt: true}
  - close_connections
  - expect_status: {status: failed, within: 30s}
  - expect_status: connected
  - reconnect
  - repeat: {times: 2, steps: [cut: websocket, restore: websocket]}
  - close
expect: {lost_queries: 0, success_rate: 0.9, reconnect_p95: "< 2s"}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_valid_file_becomes_typed_steps_with_their_numbers(tmp_path: Path) -> None:
    scenario = load(write(tmp_path, FULL))

    assert scenario.name == "every-step"
    assert scenario.time_scale == 120
    assert scenario.gateway == {"idle_timeout": "5m", "limits": {"frame_bytes": 1024}}
    # Durations become configured seconds; null stays "no heartbeat".
    assert scenario.client == {
        "heartbeat_interval": None,
        "max_reconnect_attempts": 5,
        "query_timeout": 20.0,
    }
    steps = scenario.steps
    assert [type(step) for step in steps] == [
        Connect, Query, Query, Idle, Wait, Cut, Restore, Toxic, ClearToxics, ClearToxics,
        Fault, ClearFaults, Backend, CloseConnections, CloseConnections, ExpectStatus,
        ExpectStatus, Reconnect, Repeat, Close,
    ]  # fmt: skip
    assert [step.label for step in steps] == [str(n) for n in range(1, 21)]
    assert steps[1] == Query(
        label="2",
        text="S3 spend",
        expect=QueryExpect(transport="rest", within=30.0, max_reconnects=2),
    )
    assert steps[2].expect == QueryExpect()
    assert steps[3].seconds == 660.0 and steps[4].seconds == 0.25
    assert (steps[5].target, steps[6].target) == ("websocket", "all")
    assert steps[7] == Toxic(
        label="8",
        target="rest",
        type="latency",
        name="slow",
        stream="upstream",
        toxicity=0.5,
        attributes={"latency": 100, "jitter": 10},
    )
    assert steps[9].target == "all"
    assert steps[10].body() == {
        "type": "delay_replies",
        "route": "finops_query",
        "delay": "2s",
        "for": "1m",
    }
    assert steps[12].body() == {"data": {"hello": 1}}
    assert steps[13].body() == {"abrupt": True}
    assert steps[14].body() == {"code": 1001, "reason": "Going away"}
    assert (steps[15].status, steps[15].within) == ("failed", 30.0)
    assert (steps[16].status, steps[16].within) == ("connected", 5.0)
    repeat = steps[18]
    assert repeat.times == 2
    assert [step.label for step in repeat.steps] == ["19.1", "19.2"]
    assert [step.label for step in iter_steps(steps)][-4:] == ["19", "19.1", "19.2", "20"]
    assert [(g.name, g.op, g.value) for g in scenario.expect] == [
        ("lost_queries", "<=", 0.0),
        ("success_rate", ">=", 0.9),
        ("reconnect_p95", "<", 2.0),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # unknown step and unknown keys, at every level
        (
            "steps: [connect, teleport]",
            "step 2: step: 'teleport': unknown step (known: ",
        ),
        (
            "steps: [connect]\nretries: 3",
            ": retries: 3: unknown key (known: name, description, time_scale",
        ),
        (
            "steps: [{query: {text: hi, expext: {}}}]",
            "step 1 (query): expext: {}: unknown key (known: text, expect)",
        ),
        (
            "steps: [{query: {expect: {transport: websocket, retries: 1}}}]",
            "step 1 (query): expect.retries: 1: unknown key",
        ),
        (
            "steps: [connect, {repeat: {times: 2, steps: [connect, {cut: moon}]}}]",
            "step 2.2 (cut): cut: 'moon': must be one of websocket, rest, all",
        ),
        (
            "steps: [{repeat: {times: 2, steps: [{repeat: {times: 1, steps: [nap]}}]}}]",
            "step 1.1.1: step: 'nap': unknown step",
        ),
        (
            "steps: [{toxic: {target: websocket, type: latency, attributes: {delay: 5}}}]",
            "step 1 (toxic): attributes.delay: 5: unknown key (known: latency, jitter)",
        ),
        (
            "steps: [connect]\nclient: {heartbeat: 30s}",
            ": client.heartbeat: '30s': unknown key (known: heartbeat_interval, pong_timeout",
        ),
        (
            "steps: [connect]\nexpect: {lost: 0}",
            ": expect.lost: 0: unknown key (known: success_rate",
        ),
        # bad durations
        ("steps: [{idle: 10 minutes}]", "step 1 (idle): idle: '10 minutes': not a duration"),
        ("steps: [{wait: -1}]", "step 1 (wait): wait: -1: not a duration"),
        (
            "steps: [{query: {expect: {within: soon}}}]",
            "step 1 (query): expect.within: 'soon': not a duration",
        ),
        (
            "steps: [{expect_status: {status: failed, within: 1y}}]",
            "step 1 (expect_status): within: '1y': not a duration",
        ),
        (
            "steps: [{fault: {type: drop_replies, route: r, for: forever}}]",
            "step 1 (fault): for: 'forever': not a duration",
        ),
        ("steps: [connect]\nclient: {backoff_base: fast}", ": client.backoff_base: 'fast'"),
        (
            "steps: [connect]\nclient: {query_timeout: 0}",
            ": client.query_timeout: 0: must be longer than 0",
        ),
        # bad values and shapes
        ("steps: [idle]", "step 1 (idle): idle: None: needs a duration"),
        ("steps: [cut]", "step 1 (cut): cut: None: needs a target: websocket, rest or all"),
        ("steps: [toxic]", "step 1 (toxic): toxic: None: needs a mapping, e.g. {toxic: "),
        (
            "steps: [{query: {text: ''}}]",
            "step 1 (query): text: '': must be a non-empty string",
        ),
        ("steps: [{connect: now}]", "step 1 (connect): connect: 'now': takes no argument"),
        ("steps: [{cut: websocket, restore: rest}]", "step 1: step: "),
        ("steps: [42]", "step 1: step: 42: must be a step name or a one-key mapping"),
        (
            "steps: [{query: {expect: {transport: carrier-pigeon}}}]",
            "step 1 (query): expect.transport: 'carrier-pigeon': must be one of websocket, rest",
        ),
        (
            "steps: [{query: {expect: {reconnects: -1}}}]",
            "step 1 (query): expect.reconnects: -1: must be an integer >= 0",
        ),
        (
            "steps: [{toxic: {target: websocket, type: latency, attributes: {latency: 1.5}}}]",
            "step 1 (toxic): attributes.latency: 1.5: must be an integer >= 0",
        ),
        (
            "steps: [{toxic: {target: websocket, type: gremlin}}]",
            "step 1 (toxic): type: 'gremlin': must be one of bandwidth, latency, limit_data",
        ),
        (
            "steps: [{toxic: {type: latency}}]",
            "step 1 (toxic): target: None: required, e.g. target: websocket",
        ),
        (
            "steps: [{toxic: {target: rest, type: noop, toxicity: 2}}]",
            "step 1 (toxic): toxicity: 2: must be a number from 0 to 1",
        ),
        (
            "steps: [{toxic: {target: rest, type: noop, stream: sideways}}]",
            "step 1 (toxic): stream: 'sideways': must be one of upstream, downstream",
        ),
        (
            "steps: [{toxic: {target: rest, type: slicer, attributes: {average_size: 0}}}]",
            "step 1 (toxic): attributes.average_size: 0: must be >= 1 for slicer",
        ),
        # faults are checked by the emulator's own fault registry
        (
            "steps: [{fault: {type: meteor}}]",
            "step 1 (fault): type: 'meteor': must be one of delay_replies, drop_replies, gone",
        ),
        (
            "steps: [{fault: {type: reject_connections, status: 404}}]",
            "step 1 (fault): reject_connections: status: 404: must be one of",
        ),
        (
            "steps: [{fault: {type: delay_replies, route: finops_query}}]",
            "step 1 (fault): delay: None: required by fault delay_replies",
        ),
        (
            "steps: [{fault: {type: stall_integrations, delay: soon}}]",
            "step 1 (fault): stall_integrations: delay: not a duration",
        ),
        (
            "steps: [{fault: {type: gone, route: x}}]",
            "step 1 (fault): gone: unknown parameter 'route'",
        ),
        (
            "steps: [{fault: drop_replies}]",
            "step 1 (fault): fault: 'drop_replies': needs a mapping",
        ),
        ("steps: [{backend: {action: post}}]", "step 1 (backend): data: None: required"),
        (
            "steps: [{backend: {action: delete_connection, data: x}}]",
            "step 1 (backend): data: 'x': only action post takes data",
        ),
        (
            "steps: [{backend: {action: reboot}}]",
            "step 1 (backend): action: 'reboot': must be one of delete_connection, post",
        ),
        (
            "steps: [{close_connections: {abrupt: true, code: 1001}}]",
            "step 1 (close_connections): code: 1001: an abrupt close sends no close frame",
        ),
        (
            "steps: [{close_connections: {code: 1006}}]",
            "step 1 (close_connections): code: 1006: must be a close code a server may send",
        ),
        (
            "steps: [{expect_status: {status: happy}}]",
            "step 1 (expect_status): status: 'happy': must be one of connected, connecting",
        ),
        (
            "steps: [{repeat: {times: 0, steps: [connect]}}]",
            "step 1 (repeat): times: 0: must be an integer >= 1",
        ),
        ("steps: []", ": steps: []: must be a non-empty list of steps"),
        ("time_scale: 60", ": steps: None: required, e.g. steps: [connect, query]"),
        (
            "steps: [{repeat: {times: 2, steps: []}}]",
            "step 1 (repeat): steps: []: must be a non-empty list of steps",
        ),
        ("steps: [connect]\ntime_scale: 0", ": time_scale: 0: must be a positive number"),
        (
            "steps: [connect]\nexpect: {success_rate: 1.5}",
            ": expect.success_rate: 1.5: a rate is a number from 0 to 1",
        ),
        (
            "steps: [connect]\nexpect: {reconnect_p95: later}",
            ": expect.reconnect_p95: 'later': not a duration",
        ),
        # the gateway block is checked by the emulator's own config validation
        (
            "steps: [connect]\ngateway: {idle_timeout: often}",
            ": gateway.idle_timeout: 'often': ",
        ),
        (
            "steps: [connect]\ngateway: {stage: dev}",
            ": gateway.stage: 'dev': a scenario may only override idle_timeout, integration",
        ),
        (
            "steps: [connect]\ngateway: {limits: {frame_kb: 1}}",
            ": gateway.limits.frame_kb: 1: unknown key",
        ),
    ],
)
def test_bad_input_is_one_line_naming_file_step_and_key(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, "name: bad\ndescription: d\n" + body + "\n")

    with pytest.raises(ScenarioError) as raised:
        load(path)

    text = str(raised.value)
    assert text.startswith(f"{path}:"), text
    assert message in text, text
    assert "\n" not in text
    assert isinstance(raised.value, UserError)  # the CLI turns it into exit 2


def test_missing_file_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.yaml: no such scenario file$"):
        load(tmp_path / "nope.yaml")
    broken = write(tmp_path, "name: x\nsteps: [connect\n")
    with pytest.raises(ScenarioError, match=r"scenario\.yaml: line \d+: not valid YAML"):
        load(broken)
    listing = write(tmp_path, "- connect\n", "list.yaml")
    with pytest.raises(ScenarioError, match=r"list\.yaml: the file must hold a mapping"):
        load(listing)
    nameless = write(tmp_path, "steps: [connect]\n", "nameless.yaml")
    with pytest.raises(ScenarioError, match=r"nameless\.yaml: name: None: required"):
        load(nameless)


def test_load_all_reads_directories_in_order_and_rejects_duplicates(tmp_path: Path) -> None:
    write(tmp_path, "name: b\nsteps: [connect]\n", "2-b.yaml")
    write(tmp_path, "name: a\nsteps: [connect]\n", "1-a.yaml")
    extra = write(tmp_path.parent, "name: c\nsteps: [close]\n", f"{tmp_path.name}-c.yaml")

    assert [s.name for s in load_all([tmp_path, extra])] == ["a", "b", "c"]

    twin = write(tmp_path.parent, "name: a\nsteps: [close]\n", f"{tmp_path.name}-twin.yaml")
    with pytest.raises(ScenarioError, match=r"twin\.yaml: name: 'a': already used by .*1-a\.yaml"):
        load_all([tmp_path, twin])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScenarioError, match=r"empty: no scenario files"):
        load_all([empty])


def test_the_first_bad_file_stops_loading(tmp_path: Path) -> None:
    write(tmp_path, "name: a\nsteps: [connect]\n", "a.yaml")
    write(tmp_path, "name: b\nsteps: [{idle: long}]\n", "b.yaml")

    with pytest.raises(ScenarioError, match=r"b\.yaml: step 1 \(idle\): idle: 'long'"):
        load_all([tmp_path])


@pytest.mark.parametrize(
    ("given", "body"),
    [
        ("{}", {"code": 1001, "reason": "Going away"}),
        ("{code: 1000}", {"code": 1000, "reason": "Connection Closed Normally"}),
        ("{code: 4000}", {"code": 4000, "reason": ""}),
        ("{code: 4000, reason: deploy}", {"code": 4000, "reason": "deploy"}),
    ],
)
def test_close_connections_sends_the_gateways_default_reasons(given: str, body: dict) -> None:
    # The same defaults as the control API's (emulator.frames.default_reason).
    document = {"name": "close", "steps": [{"close_connections": yaml.safe_load(given)}]}
    [step] = parse(document, "<close>").steps
    assert step.body() == body
