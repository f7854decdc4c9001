"""The official `anthropic` Python package as a real client of `prellm serve`.

Run by GatewayLiveTests with PRELLM_URL and PRELLM_KEY set; exits non-zero on the first
failed check."""
import os
import anthropic

base, key = os.environ["PRELLM_URL"], os.environ["PRELLM_KEY"]
client = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0, timeout=20)

# 1. A plain message.
m = client.messages.create(model="claude", max_tokens=100, system="Be brief.", messages=[{"role": "user", "content": "Hi"}])
assert m.content[0].text == "Hello from Claude.", m
assert m.stop_reason == "end_turn" and m.usage.input_tokens == 5 and m.usage.output_tokens == 3, m

# 2. Streamed through the client's stream helper, which checks the event order itself.
with client.messages.stream(model="claude", max_tokens=100, messages=[{"role": "user", "content": "Count"}]) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
assert text == "One two three" and final.content[0].text == text, (text, final)

# 3. A tool call, then its result.
tools = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
m = client.messages.create(model="claude", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "Weather in Paris?"}])
use = next(b for b in m.content if b.type == "tool_use")
assert use.name == "get_weather" and use.input == {"city": "Paris"} and m.stop_reason == "tool_use", m
m = client.messages.create(model="claude", max_tokens=100, tools=tools, messages=[
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18C"}]},
])
assert m.content[0].text == "It is 18C.", m

# 4. count_tokens: Anthropic's own count for an Anthropic model, an estimate (never 0) elsewhere.
c = client.messages.with_raw_response.count_tokens(model="claude", messages=[{"role": "user", "content": "Hello there"}])
assert c.parse().input_tokens == 42 and c.headers["x-prellm-token-count"] == "provider", (c.parse(), c.headers)
c = client.messages.with_raw_response.count_tokens(model="fast", system="Be brief.", messages=[{"role": "user", "content": "Hello there"}])
assert c.parse().input_tokens > 0 and c.headers["x-prellm-token-count"] == "estimate", c.parse()

# 5. Errors raise the exceptions Anthropic clients expect.
try:
    client.messages.create(model="nope", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    raise AssertionError("no error for an unknown model")
except anthropic.NotFoundError:
    pass
try:
    anthropic.Anthropic(base_url=base, api_key="pk-wrong", max_retries=0).messages.create(
        model="claude", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    raise AssertionError("no error for a wrong key")
except anthropic.AuthenticationError:
    pass

print("anthropic client: 5 checks passed")
