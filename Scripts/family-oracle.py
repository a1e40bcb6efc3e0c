#!/usr/bin/env python3
"""Counts what transformers' own modeling code builds from each family fixture.

For every `Tests/ShardPlanTests/Fixtures/families/*.config.json` this builds the
model with `AutoModelForCausalLM.from_config` on PyTorch's `meta` device (no
memory is allocated, no weights are downloaded) in the config's dtype, and records
what `save_pretrained` would write: every parameter once (tied weights once) and
every persistent buffer, with their exact bytes. The result goes to
`Fixtures/families/oracle.json`, which `FamilyOracleTests` compares with
shardplan's own tensor list, to the byte.

    Scripts/family-oracle.py            # needs torch and transformers
    Scripts/family-oracle.py --seed T   # writes T.config.json from transformers' defaults

The conformance venv of Scripts/check-emitters.sh has both (CPU torch):
    .build/conformance/consumers/bin/python Scripts/family-oracle.py
"""

import argparse
import json
import pathlib
import sys
import warnings

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "ShardPlanTests" / "Fixtures" / "families"


# Architectures shipped as remote code that transformers builds with another
# family's classes: Kimi-K2 is DeepseekV3ForCausalLM.
SAME_AS = {"kimi_k2": "deepseek_v3"}


def build(config_dict):
    config_dict = dict(config_dict)
    config_dict["model_type"] = SAME_AS.get(config_dict["model_type"], config_dict["model_type"])
    config = AutoConfig.for_model(**config_dict)
    dtype = getattr(torch, {"float32": "float32", "float16": "float16"}.get(config_dict.get("torch_dtype"), "bfloat16"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.device("meta"):
            # Vision-language models (a vision tower and a language model) build as
            # image-text-to-text models, the class their checkpoints load into.
            multimodal = hasattr(config, "vision_config")
            factory = AutoModelForImageTextToText if multimodal else AutoModelForCausalLM
            return factory.from_config(config, torch_dtype=dtype)


def print_tensors(config_dict):
    """One line per tensor name with the layer index replaced by N, first layer seen."""
    import re

    model = build(config_dict)
    shown = {}
    for name, tensor in model.state_dict().items():
        folded = re.sub(r"\.(\d+)\.", ".N.", name, count=1)
        layer = re.search(r"\.(\d+)\.", name)
        shown.setdefault((folded, tuple(tensor.shape), str(tensor.dtype)), []).append(layer.group(1) if layer else "-")
    for (folded, shape, dtype), layers in shown.items():
        print(f"{folded} {list(shape)} {dtype} layers={','.join(layers[:6])}{'…' if len(layers) > 6 else ''} ({len(layers)})")


def count(config_dict):
    model = build(config_dict)
    dtype = next(model.parameters()).dtype
    # Modules from_pretrained keeps in float32 under bf16 too (`_keep_in_fp32_modules_strict`:
    # DeepSeek-V3's e_score_correction_bias); their checkpoints store them so. The
    # non-strict list applies to float16 loads only.
    fp32 = list(getattr(model, "_keep_in_fp32_modules_strict", None) or [])
    if dtype == torch.float16:
        fp32 += list(getattr(model, "_keep_in_fp32_modules", None) or [])

    def size(name, tensor):
        if any(part in name for part in fp32) and tensor.is_floating_point():
            return tensor.numel() * 4
        return tensor.numel() * tensor.element_size()

    parameters = 0
    total = 0
    seen = set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        parameters += p.numel()
        total += size(name, p)
    buffers = 0
    for module_name, module in model.named_modules():
        for name, b in module.named_buffers(recurse=False):
            if b is None or name in module._non_persistent_buffers_set:
                continue
            buffers += size(f"{module_name}.{name}", b)
    return {
        "class": type(model).__name__,
        "parameters": parameters,
        "parameterBytes": total,
        "persistentBufferBytes": buffers,
    }


BIAS_SWITCHES = ("attention_bias", "mlp_bias", "qkv_bias", "use_bias")


def with_biases(config):
    """The config with every bias switch it names, or that a Llama-style config
    could name (`attention_bias`, `mlp_bias`), set to true, in text_config too."""
    config = json.loads(json.dumps(config))
    target = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    for key in BIAS_SWITCHES:
        if key in target or key in ("attention_bias", "mlp_bias"):
            target[key] = True
    return config


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", help="model_type whose transformers default config to write")
    parser.add_argument("--name", help="fixture name for --seed")
    parser.add_argument("--tensors", help="print the tensors transformers builds for this fixture, layers folded")
    args = parser.parse_args()
    if args.tensors:
        print_tensors(json.loads((FIXTURES / f"{args.tensors}.config.json").read_text()))
        return
    FIXTURES.mkdir(parents=True, exist_ok=True)
    if args.seed:
        config = AutoConfig.for_model(args.seed).to_dict()
        config["torch_dtype"] = "bfloat16"
        if config.get("head_dim", 0) is None:
            config.pop("head_dim")  # None means hidden_size / heads, and reads back as an error
        for key in ("transformers_version", "dtype", "_name_or_path", "id2label", "label2id", "output_hidden_states"):
            config.pop(key, None)
        path = FIXTURES / f"{args.name or args.seed}.config.json"
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")
        return
    oracle = {"transformers": transformers.__version__, "torch": torch.__version__, "models": {}, "withBiases": {}}
    for path in sorted(FIXTURES.glob("*.config.json")):
        name = path.name[: -len(".config.json")]
        config = json.loads(path.read_text())
        result = count(config)
        oracle["models"][name] = result
        print(f"{name}: {result['class']} {result['parameters']:,} parameters, {result['parameterBytes']:,} bytes")
        # The same config with every bias switch on: which projections each
        # family's modeling code then gives a bias is what this pins down.
        biased = with_biases(config)
        if biased != config:
            oracle["withBiases"][name] = count(biased)
    (FIXTURES / "oracle.json").write_text(json.dumps(oracle, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
