"""The official `openai` Python package as a real client of `prellm serve`.

Run by GatewayLiveTests with PRELLM_URL and PRELLM_KEY set; exits non-zero on the first
failed check."""
import os
import openai

base, key = os.environ["PRELLM_URL"] + "/v1", os.environ["PRELLM_KEY"]
client = openai.OpenAI(base_url=base, api_key=key, max_retries=0, timeout=20)

# 1. A plain call.
r = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "Hi"}])
assert r.choices[0].message.content == "Hello there.", r
assert r.choices[0].finish_reason == "stop", r
assert r.usage.prompt_tokens == 10 and r.usage.completion_tokens == 20, r.usage

# 2. A streamed call with the usage chunk.
chunks = list(client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "Count"}],
                                             stream=True, stream_options={"include_usage": True}))
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
assert text == "One two three", text
assert chunks[0].choices[0].delta.role == "assistant", chunks[0]
assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 8, chunks[-1]

# 3. A workflow as a virtual model.
r = client.chat.completions.create(model="workflow/support-triage", messages=[{"role": "user", "content": "The app crashes"}])
assert r.choices[0].message.content.startswith("Thanks for the report."), r

# 4. The model list.
ids = [m.id for m in client.models.list()]
assert ids == ["fast", "tools", "embed", "workflow/support-triage"], ids
assert client.models.retrieve("fast").id == "fast"

# 5. Errors raise the exceptions OpenAI clients expect.
try:
    client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "Hi"}])
    raise AssertionError("no error for an unknown model")
except openai.NotFoundError as e:
    assert e.code == "model_not_found", e
try:
    openai.OpenAI(base_url=base, api_key="pk-wrong", max_retries=0).models.list()
    raise AssertionError("no error for a wrong key")
except openai.AuthenticationError:
    pass

# 6. A streamed tool call, accumulated from its fragments as OpenAI's docs show.
tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
calls, finish = {}, None
for c in client.chat.completions.create(model="tools", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=tools, stream=True):
    if not c.choices:
        continue
    for t in c.choices[0].delta.tool_calls or []:
        call = calls.setdefault(t.index, {"id": None, "name": None, "arguments": ""})
        call["id"] = t.id or call["id"]
        call["name"] = (t.function.name if t.function else None) or call["name"]
        call["arguments"] += (t.function.arguments if t.function else None) or ""
    finish = c.choices[0].finish_reason or finish
assert calls == {0: {"id": "call_3", "name": "get_weather", "arguments": '{"city":"Paris"}'}}, calls
assert finish == "tool_calls", finish

# 7. Embeddings, as floats and as the client's default base64 (it decodes them itself).
e = client.embeddings.create(model="embed", input=["a", "b"], encoding_format="float")
assert [d.embedding for d in e.data] == [[0.0, 0.1, 0.2], [1.0, 1.1, 1.2]], e
assert e.usage.prompt_tokens == 4, e.usage
e = client.embeddings.create(model="embed", input="a")
assert [round(x, 5) for x in e.data[0].embedding] == [0.0, 0.1, 0.2], e.data[0].embedding

# 8. Responses: whole, then continued by previous_response_id, retrieved and deleted.
r = client.responses.create(model="fast", instructions="Be brief.", input="Hi")
assert r.output_text == "Hello again.", r
assert r.status == "completed" and r.usage.input_tokens == 11 and r.usage.output_tokens == 2, r.usage
r2 = client.responses.create(model="fast", previous_response_id=r.id, input="And then?")
assert r2.output_text == "Still here.", r2
assert r2.previous_response_id == r.id, r2
assert client.responses.retrieve(r.id).output_text == "Hello again."
client.responses.delete(r2.id)
try:
    client.responses.retrieve(r2.id)
    raise AssertionError("a deleted response is still there")
except openai.NotFoundError:
    pass
try:
    client.responses.create(model="fast", previous_response_id="resp_unknown", input="Hi")
    raise AssertionError("no error for an unknown previous_response_id")
except openai.BadRequestError as e:
    assert e.code == "previous_response_not_found", e

# 9. Responses streamed through the client's stream helper, which checks the event order and
#    accumulates the final response itself; then a two-turn tool call.
with client.responses.stream(model="fast", input="Count") as stream:
    deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
    final = stream.get_final_response()
assert "".join(deltas) == "Four five six" and final.output_text == "Four five six", (deltas, final)
fn = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
t1 = client.responses.create(model="tools", input="Weather in Paris?", tools=fn)
call = next(item for item in t1.output if item.type == "function_call")
assert call.name == "get_weather" and call.arguments == '{"city":"Paris"}', call
t2 = client.responses.create(model="tools", previous_response_id=t1.id, tools=fn,
                             input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18C"}])
assert t2.output_text == "It is 18C in Paris.", t2

print("openai client: 9 checks passed")
