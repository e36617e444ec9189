"""The official MCP Python SDK's client against the conformance-server example.

A second, independent client implementation next to the conformance suites (which drive the
TypeScript SDK): every feature the fixture serves, through the SDK's public `Client`, with
the legacy handshake (initialize, session, server-to-client requests on SSE) at 2025-11-25
and, with the SDK's handshake version pinned lower, at 2025-06-18 and 2025-03-26; and as a
2026-07-28 client (server/discover, input_required rounds, subscriptions/listen). Each check
states what it expects; any miss fails the run.

Usage: python python_sdk.py URL   (run by .ci/interop.sh)
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import anyio
import mcp.client.session
import mcp_types as types
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError

# The SDK warns on every call of a method 2026-07-28 deprecates; those calls are the point.
warnings.simplefilter("ignore")

TIMEOUT_SECONDS = 20
failures: list[str] = []
passed = 0


def check(version: str, name: str, ok: bool, got: Any = None) -> None:
    global passed
    if ok:
        passed += 1
        print(f"  ok    {version} {name}")
    else:
        failures.append(f"{version} {name}: got {got!r}"[:600])
        print(f"  FAIL  {version} {name}: got {got!r}"[:600])


def texts(result: Any) -> list[str]:
    return [block.text for block in result.content if block.type == "text"]


class Inputs:
    """The client's side of server-to-client requests: answers, and what was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.logs: list[Any] = []

    async def elicit(self, _ctx: Any, params: Any) -> types.ElicitResult:
        self.asked.append("elicit")
        schema = params.requested_schema or {}
        content: dict[str, Any] = {}
        for key, prop in schema.get("properties", {}).items():
            if "default" in prop:
                content[key] = prop["default"]
            elif "enum" in prop:
                content[key] = prop["enum"][0]
            else:
                content[key] = {"boolean": True, "integer": 7, "number": 1.5}.get(
                    prop.get("type"), f"py-{key}"
                )
        return types.ElicitResult(action="accept", content=content)

    async def sample(self, _ctx: Any, params: Any) -> types.CreateMessageResult:
        self.asked.append("sample")
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text="Paris"),
            model="interop-model",
            stop_reason="endTurn",
        )

    async def roots(self, _ctx: Any) -> types.ListRootsResult:
        self.asked.append("roots")
        return types.ListRootsResult(roots=[types.Root(uri="file:///srv/data", name="data")])

    async def log(self, params: Any) -> None:
        self.logs.append(params.data)

    def take(self) -> list[str]:
        asked, self.asked = self.asked, []
        return asked


async def expect_error(version: str, name: str, call: Any, code: int, words: str) -> None:
    try:
        got = await call
    except MCPError as error:
        check(version, name, error.error.code == code and words in error.error.message,
              (error.error.code, error.error.message))
    else:
        check(version, name, False, got)


async def common(version: str, client: Client, inputs: Inputs) -> None:
    """What every version must answer alike."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    check(version, "tools/list names the fixture's tools",
          {"test_simple_text", "test_sampling", "greet", "json_schema_2020_12_tool"} <= set(tools),
          sorted(tools))
    greet = tools.get("greet")
    check(version, "greet's input schema", greet is not None
          and greet.input_schema.get("required") == ["name"], greet and greet.input_schema)

    result = await client.call_tool("test_simple_text", {})
    check(version, "text content",
          texts(result) == ["This is a simple text response for testing."]
          and not result.is_error, result)
    result = await client.call_tool("test_image_content", {})
    check(version, "image content", result.content[0].type == "image"
          and result.content[0].mime_type == "image/png", result.content)
    result = await client.call_tool("test_embedded_resource", {})
    check(version, "embedded resource", result.content[0].type == "resource"
          and result.content[0].resource.uri == "test://embedded-resource", result.content)
    result = await client.call_tool("test_multiple_content_types", {})
    check(version, "mixed content",
          [b.type for b in result.content] == ["text", "image", "resource"], result.content)
    result = await client.call_tool("test_error_handling", {})
    check(version, "a tool error is a result with isError", result.is_error is True, result)
    if version in ("2025-03-26", "2025-06-18"):
        # Their tool pages list invalid arguments among the protocol errors.
        await expect_error(version, "invalid arguments are -32602 naming the field",
                           client.call_tool("greet", {"name": 3}), -32602, "/name")
    else:
        result = await client.call_tool("greet", {"name": 3})
        check(version, "invalid arguments are an isError result naming the field",
              result.is_error is True and "/name" in " ".join(texts(result)), result)
    await expect_error(version, "unknown tool -32602", client.call_tool("no_such_tool", {}),
                       -32602, "no_such_tool")

    progress: list[float] = []

    async def on_progress(value: float, _total: float | None, _message: str | None) -> None:
        progress.append(value)

    result = await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    check(version, "progress notifications in order", progress == [0.0, 50.0, 100.0], progress)

    resources = (await client.list_resources()).resources
    check(version, "resources/list", {r.uri for r in resources} >= {"test://static-text",
          "test://static-binary"}, [r.uri for r in resources])
    templates = (await client.list_resource_templates()).resource_templates
    check(version, "resources/templates/list",
          [t.uri_template for t in templates] == ["test://template/{id}/data"], templates)
    read = await client.read_resource("test://static-text")
    check(version, "text resource", read.contents[0].text
          == "This is the content of the static text resource.", read)
    read = await client.read_resource("test://static-binary")
    check(version, "blob resource", read.contents[0].mime_type == "image/png"
          and read.contents[0].blob.startswith("iVBOR"), read)
    read = await client.read_resource("test://template/42/data")
    check(version, "templated resource", json.loads(read.contents[0].text).get("id") == "42", read)
    missing_code = -32602 if version == "2026-07-28" else -32002
    await expect_error(version, f"unknown resource {missing_code}",
                       client.read_resource("test://missing"), missing_code, "not found")

    prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
    check(version, "prompt with arguments", prompt.messages[0].content.text
          == "Prompt with arguments: arg1='a', arg2='b'", prompt)
    completion = await client.complete(
        types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"),
        {"name": "arg1", "value": "test"},
    )
    check(version, "completion/complete", completion.completion.values
          == ["test", "testValue1", "testValue2"], completion)

    # Server-to-client requests: on the request's SSE stream (legacy) or as input_required
    # rounds the SDK answers and retries (2026-07-28). The same handlers serve both.
    result = await client.call_tool("test_sampling", {"prompt": "Capital of France?"})
    check(version, "sampling", texts(result) == ["LLM response: Paris"]
          and inputs.take() == ["sample"], result)
    result = await client.call_tool("test_input_required_result_list_roots", {})
    check(version, "roots", texts(result) == ["Found 1 root(s)"] and inputs.take() == ["roots"],
          result)
    if version == "2025-03-26":
        # No elicitation in that version: the SDK declares the capability anyway, and the
        # server must not send it a method it does not have.
        await expect_error(version, "elicitation is refused",
                           client.call_tool("test_elicitation", {"message": "Who?"}),
                           -32600, "does not support elicitation")
        check(version, "nothing was asked", inputs.take() == [], inputs.asked)
    else:
        await elicitation(version, client, inputs)

    # A call the client abandons; the server must go on serving the client.
    with anyio.move_on_after(0.3):
        await client.call_tool("slow_compute", {"label": "abandoned", "seconds": 5})
    result = await client.call_tool("greet", {"name": "again"})
    check(version, "served after an abandoned call", texts(result) == ["Hello, again!"], result)


def connect(url: str, mode: str, inputs: Inputs) -> Client:
    """A client that answers every server-to-client request through `inputs`."""
    return Client(url, mode=mode, read_timeout_seconds=TIMEOUT_SECONDS,
                  elicitation_callback=inputs.elicit, sampling_callback=inputs.sample,
                  list_roots_callback=inputs.roots, logging_callback=inputs.log)


async def elicitation(version: str, client: Client, inputs: Inputs) -> None:
    """Form elicitation (2025-06-18 and later), alone and with other inputs in rounds."""
    result = await client.call_tool("test_elicitation", {"message": "Who are you?"})
    check(version, "elicitation", "action=accept" in texts(result)[0]
          and inputs.take() == ["elicit"], result)
    result = await client.call_tool("test_elicitation_sep1034_defaults", {})
    check(version, "elicitation with defaults", '"name":"John Doe"' in texts(result)[0], result)
    inputs.take()
    result = await client.call_tool("test_input_required_result_multiple_inputs", {})
    check(version, "three inputs in one round",
          texts(result) == ["Multiple inputs received: name=py-name, greeting=Paris, "
                            "Found 1 root(s)"]
          and sorted(inputs.take()) == ["elicit", "roots", "sample"], result)
    result = await client.call_tool("test_input_required_result_multi_round", {})
    check(version, "two rounds", texts(result) == ["Multi-round complete for py-name who likes "
                                               "py-color"]
          and inputs.take() == ["elicit", "elicit"], result)
    result = await client.call_tool("test_input_required_result_request_state", {})
    check(version, "request state carried", texts(result) == ["state-ok: requestState validated"],
          result)
    inputs.take()


async def legacy_only(version: str, client: Client, inputs: Inputs) -> None:
    """Methods and transport features of the handshake era."""
    check(version, "server info", client.server_info.name == "mcp-conformance-test-server",
          client.server_info)
    check(version, "ping", isinstance(await client.send_ping(), types.EmptyResult))
    check(version, "logging/setLevel", isinstance(await client.set_logging_level("info"),
                                              types.EmptyResult))
    await client.call_tool("test_tool_with_logging", {})
    check(version, "log notifications", inputs.logs == ["Tool execution started",
          "Tool processing data", "Tool execution completed"], inputs.logs)
    check(version, "resources/subscribe",
          isinstance(await client.subscribe_resource("test://watched-resource"),
                     types.EmptyResult))
    # The fixture asks to close the SSE stream mid-call: from 2025-11-25 on the SDK resumes
    # with Last-Event-ID; an earlier client cannot, so the server keeps its stream open.
    result = await client.call_tool("test_reconnection", {})
    check(version, "answered across an early stream close",
          texts(result)[0].startswith("Reconnection test completed successfully"), result)


async def modern_only(version: str, client: Client, _inputs: Inputs) -> None:
    """What only 2026-07-28 has, or no longer has."""
    result = await client.call_tool("test_header_param", {"region": "eu-west"})
    check(version, "Mcp-Param header", texts(result) == ["region=eu-west"], result)
    await expect_error(version, "resources/subscribe is gone",
                       client.subscribe_resource("test://watched-resource"), -32601,
                       "resources/subscribe")
    with anyio.fail_after(TIMEOUT_SECONDS):
        async with client.listen(tools_list_changed=True,
                                 resource_subscriptions=["test://watched-resource"]) as sub:
            check(version, "subscriptions/listen acknowledged", sub.honored.tools_list_changed
                  is True and sub.honored.resource_subscriptions
                  == ["test://watched-resource"], sub.honored)
            await client.call_tool("test_trigger_tool_change", {})
            async for event in sub:
                check(version, "tools list_changed event on the listen stream",
                      type(event).__name__ == "ToolsListChanged", event)
                break


# (the version, the SDK's connect mode, the version's own checks)
VERSIONS = (
    ("2025-11-25", "legacy", legacy_only),
    ("2025-06-18", "legacy", legacy_only),
    ("2025-03-26", "legacy", legacy_only),
    ("2026-07-28", "auto", modern_only),
)
SDK_HANDSHAKE_VERSION = mcp.client.session.LATEST_HANDSHAKE_VERSION


async def run(url: str, version: str, mode: str, own_checks: Any) -> None:
    # The SDK's `initialize` asks for this module-level version; it has no setting for it.
    mcp.client.session.LATEST_HANDSHAKE_VERSION = (
        version if mode == "legacy" else SDK_HANDSHAKE_VERSION)
    inputs = Inputs()
    async with connect(url, mode, inputs) as client:
        check(version, "the client settles on its version", client.protocol_version == version,
              client.protocol_version)
        await common(version, client, inputs)
        await own_checks(version, client, inputs)


def innermost(error: BaseException) -> BaseException:
    """The first leaf of the exception groups anyio's task groups wrap errors in."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


async def main(url: str) -> int:
    for version, mode, own_checks in VERSIONS:
        try:
            await run(url, version, mode, own_checks)
        except Exception as error:  # a crash of one version still reports the others
            error = innermost(error)
            failures.append(f"{version}: {type(error).__name__}: {error}")
            print(f"  FAIL  {version} crashed: {type(error).__name__}: {error}")
    print(f"python SDK interop: {passed} passed, {len(failures)} failed")
    for failure in failures:
        print(f"  - {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(anyio.run(main, sys.argv[1]))
