"""Writes constructs-expected.json: what Python's Jinja2, in the environment transformers renders chat templates with
(sandboxed, trim_blocks, lstrip_blocks, loop controls, its tojson, raise_exception and strftime_now), makes of each
snippet in constructs.json. Distillery's Jinja interpreter must give the same bytes
(tests/Distillery.Models.Tests/Templates/JinjaConstructTests.cs).

It also renders every case of renderings.json (made by make-renderings.mjs with @huggingface/jinja) with Jinja2 and
fails if any differs, so the committed chat renderings hold for both renderers.

Run once, from this folder, after make-renderings.mjs:  python3 make-constructs.py ../../../../shared/data
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.join(here, "..", "..", "..")


def environment():
    # As transformers' _compile_jinja_template (utils/chat_template_utils.py) builds it.
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    if len(sys.argv) != 2:
        print("usage: python3 make-constructs.py PATH/TO/shared/data", file=sys.stderr)
        sys.exit(2)
    shared = sys.argv[1]
    env = environment()
    with open(os.path.join(here, "constructs.json"), encoding="utf-8") as f:
        constructs = json.load(f)
    expected = [{"name": c["name"], "text": env.from_string(c["template"]).render(**c["variables"])} for c in constructs]
    with open(os.path.join(here, "constructs-expected.json"), "w", encoding="utf-8") as f:
        json.dump({"renderer": f"jinja2 {jinja2.__version__}", "expected": expected}, f, ensure_ascii=False, indent=1)
        f.write("\n")

    with open(os.path.join(here, "renderings.json"), encoding="utf-8") as f:
        renderings = json.load(f)
    with open(os.path.join(here, "conversations.json"), encoding="utf-8") as f:
        conversations = json.load(f)
    sources = {}
    for name, info in renderings["templates"].items():
        path = info["path"]
        if path.endswith("tokenizer_config.json"):
            with open(os.path.join(shared, path), encoding="utf-8") as f:
                sources[name] = json.load(f)["chat_template"]
        else:
            with open(os.path.join(repo, path), encoding="utf-8") as f:
                sources[name] = f.read()
    differ = 0
    for r in renderings["renderings"]:
        info = renderings["templates"][r["template"]]
        variables = dict(messages=conversations[r["conversation"]], add_generation_prompt=r["add_generation_prompt"], **r["arguments"])
        if info["bos_token"] is not None:
            variables["bos_token"] = info["bos_token"]
        if info["eos_token"] is not None:
            variables["eos_token"] = info["eos_token"]
        text = env.from_string(sources[r["template"]]).render(**variables)
        if text != r["text"]:
            differ += 1
            print(f"jinja2 differs: {r['template']} / {r['conversation']} / {r['add_generation_prompt']} / {r['arguments']}", file=sys.stderr)
    print(f"{len(expected)} constructs (jinja2 {jinja2.__version__}); {len(renderings['renderings']) - differ} of {len(renderings['renderings'])} chat renderings identical in jinja2 and {renderings['renderer']}")
    sys.exit(1 if differ else 0)


main()
