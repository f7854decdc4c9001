"""The peer: the same chain in langchain-core — STEPS prompt | fake chat model | output parser
links, each prompt reading the previous answer — with its fake chat model answering instantly.

    python peer.py [--steps 10] [--runs 2000]
"""
import argparse, time
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=10)
ap.add_argument("--runs", type=int, default=2000)
a = ap.parse_args()

model = FakeListChatModel(responses=["ok"])
chain = None
for i in range(a.steps):
    prompt = ChatPromptTemplate.from_messages([("user", f"Step {i}. Previous: {{previous}}")])
    link = prompt | model | StrOutputParser() | RunnableLambda(lambda text: {"previous": text})
    chain = link if chain is None else chain | link
final = chain | RunnableLambda(lambda d: d["previous"])

for _ in range(20):
    final.invoke({"previous": "hello"})
start = time.perf_counter()
for _ in range(a.runs):
    assert final.invoke({"previous": "hello"}) == "ok"
elapsed = time.perf_counter() - start
print("langchain-core: steps=%d runs=%d us_per_step=%.2f runs_per_s=%.0f" % (a.steps, a.runs, elapsed / (a.runs * a.steps) * 1e6, a.runs / elapsed))
