"""The official openai client asks a gateway for a chat completion from its model `fast`, which
must be the stand-in's answer. python3 ask.py GATEWAY_URL [--again-from-cache]: with the flag,
it asks again and the answer must carry x-prellm-cache: hit."""
import sys
import openai

c = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="unused")
messages = [{"role": "user", "content": "hi"}]
r = c.chat.completions.create(model="fast", messages=messages)
assert r.choices[0].message.content == "hello from upstream", r
print("== answered:", r.choices[0].message.content)
if "--again-from-cache" in sys.argv[2:]:
    again = c.chat.completions.with_raw_response.create(model="fast", messages=messages)
    assert again.headers.get("x-prellm-cache") == "hit", dict(again.headers)
    print("== the same request again is a cache hit")
