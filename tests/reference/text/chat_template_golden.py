#!/usr/bin/env python3
"""Goldens for src/text/chat_template.*: real chat templates rendered with jinja2 the way
transformers' apply_chat_template renders them (ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, raise_exception in scope, special tokens as variables). Needs python3-jinja2 (only
to regenerate; CI reads the committed JSON).

  /usr/bin/python3 tests/reference/text/chat_template_golden.py
writes tests/reference/text/chat_template_golden.json.
"""
import json
import os

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

# The templates as their tokenizer_config.json files hold them (after JSON decoding).
TEMPLATES = {
    # teknium/OpenHermes-2.5-Mistral-7B
    "chatml": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
    # Qwen/Qwen1.5-0.5B-Chat (ChatML with a default system message)
    "chatml_qwen": "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content']}}{% if (loop.last and add_generation_prompt) or not loop.last %}{{ '<|im_end|>' + '\n'}}{% endif %}{% endfor %}{% if add_generation_prompt and messages[-1]['role'] != 'assistant' %}{{ '<|im_start|>assistant\n' }}{% endif %}",
    # meta-llama/Llama-2-7b-chat-hf
    "llama2": "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
    # meta-llama/Meta-Llama-3-8B-Instruct
    "llama3": "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    # HuggingFaceH4/zephyr-7b-beta (multi-line: trim_blocks and lstrip_blocks at work)
    "zephyr": "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
    # Not a real model's: the rest of the subset (~, filters, tests, attribute access, slices,
    # whitespace control, comments, elif chains, literals, `in`, conditional expressions).
    "features": (
        "{#- a comment -#}\n"
        "{%- set n = messages | length -%}\n"
        "  {% for m in messages %}\n"
        "    {{- loop.index ~ '/' ~ loop.length ~ ' ' ~ m.role | upper }}: {{ m.content | trim -}}\n"
        "    {% if not loop.last %} | {% elif n > 2 %} (long){% else %} (short){% endif %}\n"
        "  {% endfor %}\n"
        "{{ 'first=' + messages[0].content[:3] }} last={{ (messages | last)['role'] }}\n"
        "{% if 'sys' in messages[0]['role'] and messages[0].name is not defined %}S{% endif %}"
        "{{ x | default('d') }} {{ [1, 2, 3][1:] | length }} {{ {'a': 1}['a'] + 2 * 3 - 7 // 2 }}"
        " {{ 'yes' if add_generation_prompt else 'no' }} {{ none }} {{ true }} {{ -3 % 5 }}"
        " {{ 'abc'[::-1] }} {{ messages[1:2][0].role if n > 1 }} {{ m }}{{ loop }}"
        " {{ 'x\\ty' }} {{ '  a b  '.lstrip() ~ '|' ~ 'Abc'.lower() ~ 'a'.startswith('a') }}\n"
    ),
}

TOKENS = {
    "chatml": {"bos_token": "<s>", "eos_token": "<|im_end|>", "unk_token": "<unk>"},
    "chatml_qwen": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "llama2": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "zephyr": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "features": {"bos_token": "<s>", "eos_token": "</s>"},
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."},
     {"role": "user", "content": "Define FOLDOC."},
     {"role": "assistant", "content": "The Free On-line Dictionary of Computing."},
     {"role": "user", "content": "Thanks"}],
    [{"role": "user", "content": "  What is a byte?\n"},
     {"role": "assistant", "content": " Eight bits. \n\n"}],
    [{"role": "user", "content": "Grüße 😀 {{ not a tag }} {% neither %}"},
     {"role": "assistant", "content": "ça va — très bien\ttab"},
     {"role": "user", "content": ""}],
    # Not alternating: Llama 2's template raises.
    [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
]


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    cases = []
    for name, source in TEMPLATES.items():
        template = env.from_string(source)
        for ci, messages in enumerate(CONVERSATIONS):
            for agp in (False, True):
                case = {"template": name, "conversation": ci, "add_generation_prompt": agp}
                try:
                    case["expected"] = template.render(
                        messages=messages, add_generation_prompt=agp, **TOKENS[name])
                except jinja2.exceptions.TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
    out = {"jinja2": jinja2.__version__, "templates": TEMPLATES, "tokens": TOKENS,
           "conversations": CONVERSATIONS, "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat_template_golden.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
