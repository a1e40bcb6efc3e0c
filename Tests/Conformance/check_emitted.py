#!/usr/bin/env python3
"""Checks shardplan's launch files with the real consumers.

For every scenario folder under Tests/Conformance/golden (the files `swift test` checks
to be exactly what shardplan writes today), this loads each file with the program
that will read it and checks that what it understood is what the plan decided:

  consumers  accelerate's config loader and launcher argument resolution, DeepSpeed's
             config class and hostfile parser, transformers' module tree (meta device)
             for device_map / max_memory, torchrun started for real on the CPU, and
             llama-server's documented arguments with llama.cpp's layer-assignment rule.
  vllm       vLLM's own `vllm serve` argument parser and engine arguments.
  sglang     SGLang's own server argument parser.

Each part runs in the Python environment that has its consumer installed
(Scripts/check-emitters.sh sets them up). Launch scripts are run by bash with stand-in
`vllm`, `python3` and `llama-server` programs first in PATH that record their
arguments and environment; what they record is what gets checked.
"""

import argparse
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "Tests" / "Conformance" / "golden"
REFERENCE = ROOT / "Tests" / "Conformance" / "reference"
FAILURES = []
CHECKS = [0]


def fail(where, message):
    FAILURES.append(f"{where}: {message}")


def expect(condition, where, message):
    CHECKS[0] += 1
    if not condition:
        fail(where, message)


def scenarios(only=None):
    for folder in sorted(GOLDEN.iterdir()):
        if folder.is_dir() and (only is None or folder.name in only):
            plan = json.loads((folder / "plan.json").read_text())
            yield folder, plan


def files_of(folder, plan, prefix, extension):
    """(workload, path) for each workload's file `prefix[.role]extension`."""
    several = len(plan["workloads"]) > 1
    for workload in plan["workloads"]:
        name = prefix + ("." + safe_name(workload["role"]) if several else "") + extension
        path = folder / name
        if path.exists():
            yield workload, path


def safe_name(role):
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in role)


# ---------------------------------------------------------------- launch capture

STAND_IN = """#!{python}
import json, os, sys
with open({log!r}, "a") as handle:
    handle.write(json.dumps({{"argv": [os.path.basename(sys.argv[0])] + sys.argv[1:],
        "env": {{k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "VLLM_PP_LAYER_PARTITION")}}}}) + "\\n")
"""


def capture(script):
    """Runs a launch script with stand-in engines; returns one list of calls per node.

    A script that reads NODE_RANK is run once per node (0, 1, ... until it refuses)."""
    runs = []
    rank = 0
    while True:
        with tempfile.TemporaryDirectory() as tmp:
            stand_ins = pathlib.Path(tmp, "bin")
            stand_ins.mkdir()
            log = pathlib.Path(tmp, "calls.jsonl")
            for name in ("vllm", "python3", "llama-server"):
                path = stand_ins / name
                path.write_text(STAND_IN.format(python=sys.executable, log=str(log)))
                path.chmod(0o755)
            env = dict(os.environ, PATH=f"{stand_ins}:{os.environ['PATH']}", MODEL="model-under-test")
            env["NODE_RANK"] = str(rank)
            env.pop("MASTER_ADDR", None)
            result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
            calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        uses_rank = "NODE_RANK" in script.read_text()
        if result.returncode != 0:
            if uses_rank and rank > 0 and "NODE_RANK must be" in result.stderr:
                return runs
            fail(script.name, f"exit status {result.returncode}: {result.stderr.strip()}")
            return runs
        runs.append(calls)
        if not uses_rank:
            return runs
        rank += 1


# ---------------------------------------------------------------- vLLM


def check_vllm():
    os.environ["VLLM_TARGET_DEVICE"] = "cpu"
    import vllm
    from vllm.entrypoints.cli.serve import ServeSubcommand
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    def parser():
        top = FlexibleArgumentParser()
        ServeSubcommand().subparser_init(top.add_subparsers(dest="subparser"))
        return top

    for folder, plan in scenarios():
        for workload, script in files_of(folder, plan, "vllm", ".sh"):
            where = f"{folder.name}/{script.name}"
            runs = capture(script)
            expect(len(runs) >= 1, where, "the script launched nothing")
            for rank, calls in enumerate(runs):
                expect(len(calls) == 1, where, f"node {rank}: {len(calls)} launches")
                for call in calls:
                    argv = call["argv"]
                    expect(argv[:3] == ["vllm", "serve", "model-under-test"], where, f"argv {argv[:3]}")
                    try:
                        args = parser().parse_args(argv[1:])
                        engine = vllm.AsyncEngineArgs.from_cli_args(args)
                    except SystemExit as error:
                        fail(where, f"vLLM rejects the arguments {argv[3:]} (exit {error.code})")
                        continue
                    check_vllm_values(where, rank, workload, args, engine, call["env"], len(runs))


def check_vllm_values(where, rank, workload, args, engine, env, nodes):
    expert = workload["strategy"] == "expert"
    units = workload["replicaDevices"] if not expert else None
    expect(engine.tensor_parallel_size == workload["tensorParallel"], where, "tensor parallel size")
    expect(engine.pipeline_parallel_size == (1 if expert else workload["pipelineParallel"]), where, "pipeline size")
    dp = workload["dataParallel"] if expert else len(units)
    expect(engine.data_parallel_size == dp, where, f"data parallel size {engine.data_parallel_size} != {dp}")
    expect(bool(engine.enable_expert_parallel) == expert, where, "expert parallel flag")
    expect(engine.max_model_len == workload["context"], where, "max model len")
    # An encoder (no decode: the plan predicts encoding) is served by the pooling runner.
    encoder = workload.get("kvCacheType") is None  # an encoder's plan names no KV cache
    expect((engine.runner == "pooling") == encoder, where, f"runner {engine.runner} for an encoder: {encoder}")
    # --concurrency is the whole deployment's; each data-parallel rank schedules its share.
    share = max(1, -(-workload["concurrency"] // max(dp, 1)))
    expect(engine.max_num_seqs == share, where, f"max num seqs {engine.max_num_seqs} != {share}")
    kv = {"bf16": "bfloat16", "f16": "float16", "fp8": "fp8", None: "auto"}[workload.get("kvCacheType")]
    expect(engine.kv_cache_dtype == kv, where, f"kv cache dtype {engine.kv_cache_dtype}")
    planned = workload.get("memoryFraction") or 0.9
    expect(0 < engine.gpu_memory_utilization <= planned, where, f"gpu memory utilization above {planned}")
    expect(env.get("VLLM_PP_LAYER_PARTITION") == workload.get("vllmLayerPartition"), where, "VLLM_PP_LAYER_PARTITION")
    if workload.get("cpuLayers"):
        expect(engine.cpu_offload_gb * 2**30 >= workload["cpuBytes"], where, "--cpu-offload-gb holds the offloaded layers")
    else:
        expect(not engine.cpu_offload_gb, where, "no CPU offload in a plan without it")
    visible = (env.get("CUDA_VISIBLE_DEVICES") or "").split(",")
    per_node = engine.tensor_parallel_size * engine.pipeline_parallel_size * max(dp, 1) // max(nodes, 1)
    if expert:
        per_node = engine.tensor_parallel_size * dp // max(nodes, 1)
    expect(len(visible) == per_node, where, f"node {rank} sees {len(visible)} GPUs, the engine needs {per_node}")
    if nodes > 1:
        headless = bool(getattr(args, "headless", False))
        expect(headless == (rank > 0), where, f"node {rank}: headless is {headless}")
        if dp > 1 and not expert or expert and nodes > 1:
            expect(engine.data_parallel_size_local is not None, where, "local data-parallel size on several nodes")
        else:
            expect(engine.nnodes == nodes and engine.node_rank == rank, where, f"nnodes/node_rank on node {rank}")


# ---------------------------------------------------------------- SGLang


def check_sglang():
    from sglang.srt.server_args import ServerArgs

    for folder, plan in scenarios():
        for workload, script in files_of(folder, plan, "sglang", ".sh"):
            where = f"{folder.name}/{script.name}"
            runs = capture(script)
            expect(len(runs) >= 1, where, "the script launched nothing")
            for rank, calls in enumerate(runs):
                for call in calls:
                    argv = call["argv"]
                    expect(argv[:3] == ["python3", "-m", "sglang.launch_server"], where, f"argv {argv[:3]}")
                    parser = argparse.ArgumentParser()
                    ServerArgs.add_cli_args(parser)
                    try:
                        args = parser.parse_args(argv[3:])
                    except SystemExit as error:
                        fail(where, f"SGLang rejects the arguments {argv[3:]} (exit {error.code})")
                        continue
                    expect(args.model_path == "model-under-test", where, "model path")
                    expect(args.context_length == workload["context"], where, "context length")
                    encoder = workload.get("kvCacheType") is None
                    expect(bool(args.is_embedding) == encoder, where, "is-embedding for an encoder")
                    # Each replica schedules its share; a DP-attention (expert) server takes the
                    # whole count and divides it over its ranks (max_running_requests // attn_dp_size).
                    replicas = 1 if workload["strategy"] == "expert" else max(len(workload["replicaDevices"]), 1)
                    share = max(1, -(-workload["concurrency"] // replicas))
                    expect(args.max_running_requests == share, where, f"max running requests {args.max_running_requests} != {share}")
                    planned = workload.get("memoryFraction") or 0.88
                    expect(0 < args.mem_fraction_static <= planned, where, f"mem fraction static above {planned}")
                    kv = {"bf16": "bf16", "f16": "auto", "fp8": "fp8_e4m3", None: "auto"}[workload.get("kvCacheType")]
                    expect(args.kv_cache_dtype == kv, where, "kv cache dtype")
                    offload = args.cpu_offload_gb or 0
                    expect((offload * 2**30 >= workload["cpuBytes"] > 0) == bool(workload.get("cpuLayers")), where,
                           "--cpu-offload-gb")
                    gpus = len((call["env"].get("CUDA_VISIBLE_DEVICES") or "").split(","))
                    if workload["strategy"] == "expert":
                        expect(args.tp_size == args.ep_size == workload["expertParallel"], where, "tp = ep size")
                        expect(gpus * max(args.nnodes, 1) == args.tp_size, where, "GPUs of the expert group")
                    else:
                        expect(args.tp_size == workload["tensorParallel"], where, "tp size")
                        expect(args.pp_size == workload["pipelineParallel"], where, "pp size")
                        expect(gpus == args.tp_size * args.pp_size * args.dp_size // max(args.nnodes, 1), where,
                               f"node {rank} sees {gpus} GPUs")
                    if len(runs) > 1 and args.nnodes > 1:
                        expect(args.node_rank == rank and args.dist_init_addr, where, f"node rank {rank}")


# ---------------------------------------------------------------- consumers


def check_consumers():
    check_llama_cpp()
    check_accelerate()
    check_deepspeed()
    check_deepspeed_estimator()
    check_device_maps()
    check_torchrun()


def llama_server_flags():
    """The flags of llama-server's documented argument table (tools/server/README.md)."""
    flags = set()
    text = (REFERENCE / "llama-server-arguments.md").read_text()
    for row in text.splitlines():
        if row.startswith("| `"):
            first = row.split("|")[1]
            flags.update(re.findall(r"(--?[a-z][a-z0-9-]*)", first))
    return flags


def llama_layer_devices(n_layer, n_gpu_layers, split):
    """llama.cpp's layer → device rule (src/llama-model.cpp load_tensors, as quoted in the
    reference): slot n_layer is the output layer; -1 means CPU."""
    total = sum(split)
    cumulative, running = [], 0.0
    for part in split:
        running += part
        cumulative.append(running / total)
    start = max(n_layer + 1 - n_gpu_layers, 0)
    active = min(n_gpu_layers, n_layer + 1)
    devices = []
    for layer in range(n_layer + 1):
        if layer < start or layer - start >= active:
            devices.append(-1)
            continue
        value = (layer - start) / active
        devices.append(next(i for i, point in enumerate(cumulative) if point > value))
    return devices


def check_llama_cpp():
    known = llama_server_flags()
    cache_types = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"}
    for folder, plan in scenarios():
        for workload, script in files_of(folder, plan, "llama", ".sh"):
            where = f"{folder.name}/{script.name}"
            runs = capture(script)
            calls = runs[0] if runs else []
            expect(len(calls) == len(workload["replicaDevices"]), where, "one llama-server per replica")
            for call in calls:
                argv = call["argv"]
                expect(argv[0] == "llama-server", where, "runs llama-server")
                values = {}
                index = 1
                while index < len(argv):
                    flag = argv[index]
                    expect(flag in known, where, f"{flag} is not a documented llama-server argument")
                    takes = index + 1 < len(argv) and not argv[index + 1].startswith("-")
                    values[flag] = argv[index + 1] if takes else True
                    index += 2 if takes else 1
                expect(values.get("-ctk") in cache_types and values.get("-ctv") in cache_types, where, "cache types")
                expect(values.get("--split-mode") in {"none", "layer", "row", "tensor"}, where, "split mode")
                expect(int(values["-c"]) == workload["context"] * workload["concurrency"], where, "-c")
                visible = call["env"]["CUDA_VISIBLE_DEVICES"].split(",")
                stages = workload["stages"]
                n_layer = sum(stage["lastLayer"] - stage["firstLayer"] + 1 for stage in stages) + (
                    workload.get("cpuLayers") or 0)
                if workload.get("cpuExpertLayers"):
                    rule = values.get("--override-tensor", "")
                    pattern, _, target = rule.rpartition("=")
                    expect(target == "CPU", where, "experts go to CPU")
                    matched = [layer for layer in range(n_layer)
                               if re.search(pattern, f"blk.{layer}.ffn_up_exps.weight")]
                    expect(matched == list(range(workload["cpuExpertLayers"])), where,
                           f"-ot keeps layers {matched[:3]}… of experts in RAM")
                    expect(not re.search(pattern, "blk.0.attn_q.weight"), where, "-ot touches attention")
                    continue
                split = [float(x) for x in str(values.get("--tensor-split", "1")).split(",")]
                expect(len(split) == len(visible), where, "one --tensor-split entry per visible GPU")
                devices = llama_layer_devices(n_layer, int(values["-ngl"]), split)
                cpu_layers = workload.get("cpuLayers") or 0
                expected = [-1] * cpu_layers
                for position, stage in enumerate(stages):
                    expected += [position] * (stage["lastLayer"] - stage["firstLayer"] + 1)
                expected.append(len(stages) - 1)  # the output layer
                expect(devices == expected, where,
                       "llama.cpp would place layers differently from the plan's stages")


def check_accelerate():
    import yaml
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    parser = launch_command_parser()
    destinations = {action.dest for action in parser._actions}
    for folder, plan in scenarios():
        for workload, path in list(files_of(folder, plan, "accelerate_config", ".yaml")) + [
            (plan["workloads"][0], p) for p in folder.glob("accelerate_config*.replica*.yaml")
        ]:
            where = f"{folder.name}/{path.name}"
            config = load_config_from_file(str(path))  # raises on unknown keys
            raw = yaml.safe_load(path.read_text())
            for block in ("deepspeed_config", "fsdp_config"):
                for key in raw.get(block) or {}:
                    expect(key in destinations, where, f"{block}.{key} is not an accelerate launch setting")
            args = parser.parse_args(["--config_file", str(path), "train.py"])
            try:
                args, _, _ = _validate_launch_command(args)
            except Exception as error:  # noqa: BLE001 - any refusal is a failure to report
                fail(where, f"accelerate launch refuses it: {error}")
                continue
            training = workload.get("training")
            distributed = str(config.distributed_type).split(".")[-1]
            if training:
                expect(config.num_processes == workload["dataParallel"], where, "num_processes")
                expect(config.num_machines == training["nodes"], where, "num_machines")
                expect(config.mixed_precision == training["mixedPrecision"], where, "mixed_precision")
                if training["trainer"] == "deepspeed":
                    expect(distributed == "DEEPSPEED", where, f"distributed_type {distributed}")
                    expect(int(args.zero_stage) == training["zeroStage"], where, "zero_stage")
                    expect(int(args.gradient_accumulation_steps) == training["gradientAccumulation"], where,
                           "gradient_accumulation_steps")
                    offload = training["offload"]
                    expect(args.offload_optimizer_device == offload, where, "offload_optimizer_device")
                else:
                    expect(distributed == "FSDP", where, f"distributed_type {distributed}")
                    expect(args.fsdp_sharding_strategy in ("FULL_SHARD", "SHARD_GRAD_OP", "NO_SHARD"), where,
                           "fsdp_sharding_strategy")
            else:
                units = workload["replicaDevices"]
                if len(units) > 1 and all(len(unit) == 1 for unit in units):
                    expect(distributed == "MULTI_GPU" and config.num_processes == len(units), where,
                           "data parallel replicas of one GPU are MULTI_GPU processes")
                else:
                    expect(distributed == "NO" and config.num_processes == 1, where,
                           "a model split over GPUs in one process is distributed_type NO")
                    expect(len(str(config.gpu_ids).split(",")) == len(units[0]), where, "gpu_ids of the replica")


def check_deepspeed():
    import deepspeed.runtime.config as deepspeed_config
    from deepspeed.launcher.runner import fetch_hostfile
    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers.integrations import HfDeepSpeedConfig

    # DeepSpeed asks its communication layer for this process's rank before it asks
    # the mpu for the data-parallel size; outside a launched job answer rank 0 (starting
    # its communication layer on a CPU would compile a shared-memory extension).
    deepspeed_config.dist.get_rank = lambda *args, **kwargs: 0

    class DataParallel:
        """What DeepSpeed asks of a model-parallel unit: the data-parallel size."""

        def __init__(self, size):
            self.size = size

        def get_data_parallel_world_size(self):
            return self.size

        def get_model_parallel_world_size(self):
            return 1

    for folder, plan in scenarios():
        for workload, path in files_of(folder, plan, "ds_config", ".json"):
            where = f"{folder.name}/{path.name}"
            training = workload["training"]
            dp = workload["dataParallel"]
            try:
                config = DeepSpeedConfig(str(path), mpu=DataParallel(dp))  # checks the batch sizes agree
            except Exception as error:  # noqa: BLE001 - any refusal is a failure to report
                fail(where, f"DeepSpeed refuses it: {error}")
                continue
            expect(config.train_batch_size == training["globalBatch"], where, "train_batch_size")
            expect(config.train_micro_batch_size_per_gpu == training["microBatch"], where, "micro batch")
            expect(config.gradient_accumulation_steps == training["gradientAccumulation"], where, "accumulation")
            expect(config.zero_optimization_stage == training["zeroStage"], where, "zero stage")
            expect(bool(config.bfloat16_config.enabled) == (training["mixedPrecision"] == "bf16"), where, "bf16")
            if training["offload"] != "none" and training["zeroStage"] >= 1:
                device = str(config.zero_config.offload_optimizer.device).split(".")[-1].lower()
                expect(device == training["offload"], where, f"offload_optimizer device {device}")
            HfDeepSpeedConfig(str(path))  # as the Trainer and accelerate read it
        for workload, path in files_of(folder, plan, "hostfile", ""):
            where = f"{folder.name}/{path.name}"
            hosts = fetch_hostfile(str(path))
            expect(sum(hosts.values()) == workload["dataParallel"], where, "slots add up to the GPUs")
            expect(len(hosts) == workload["training"]["nodes"], where, "one line per node")


def check_deepspeed_estimator():
    """shardplan's port of DeepSpeed's model-state estimator against DeepSpeed's own
    functions, on models transformers builds from the same configs (on the meta
    device: no weights are allocated)."""
    import torch
    from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs
    from transformers import AutoConfig, AutoModelForCausalLM

    cases = json.loads((ROOT / "Tests" / "Conformance" / "deepspeed-estimates.json").read_text())
    expect(len(cases) >= 50, "deepspeed-estimates.json", f"only {len(cases)} cases")
    counted = {}
    for case in cases:
        name = case["model"]
        where = f"deepspeed-estimates.json {name} ZeRO-{case['zeroStage']} offload {case['offload']} " \
                f"{case['nodes']}x{case['gpusPerNode']}"
        if name not in counted:
            raw = dict(model_config(name))
            raw.pop("quantization_config", None)
            config = AutoConfig.for_model(raw.pop("model_type"), **raw)
            with torch.device("meta"):
                model = AutoModelForCausalLM.from_config(config)
            # DeepSpeed's model_to_params (stage3.py), with parameters told apart by
            # identity: meta tensors all have data_ptr 0, which it keys on.
            total = sum(dict((id(p), p.numel()) for p in model.parameters()).values())
            largest = max(sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules())
            counted[name] = (total, largest)
        total, largest = counted[name]
        expect(case["totalParameters"] == total, where, f"parameters {case['totalParameters']} vs transformers {total}")
        expect(case["largestLayerParameters"] == largest, where,
               f"largest layer {case['largestLayerParameters']} vs DeepSpeed's count {largest}")
        offload = case["offload"] != "none"
        if case["zeroStage"] == 3:
            cpu, gpu, _ = estimate_zero3_model_states_mem_needs(
                total, largest, num_gpus_per_node=case["gpusPerNode"], num_nodes=case["nodes"],
                cpu_offload=offload, cpu_offload_params=offload, zero_init=True)
        else:
            cpu, gpu = estimate_zero2_model_states_mem_needs(
                total, num_gpus_per_node=case["gpusPerNode"], num_nodes=case["nodes"], cpu_offload=offload)
        expect(case["gpuBytes"] == gpu, where, f"GPU {case['gpuBytes']} vs DeepSpeed {gpu}")
        expect(case["cpuBytes"] == cpu, where, f"CPU {case['cpuBytes']} vs DeepSpeed {cpu}")


def model_config(name):
    for path in (ROOT / "Models" / (name.replace("/", "__") + ".config.json"), ROOT / name):
        if path.exists():
            return json.loads(path.read_text())
    return None


def check_device_maps():
    import torch
    from accelerate.utils import check_device_map, compute_module_sizes, find_tied_parameters
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

    for folder, plan in scenarios():
        for workload, path in files_of(folder, plan, "device_map", ".json"):
            where = f"{folder.name}/{path.name}"
            device_map = json.loads(path.read_text())
            raw = model_config(workload["model"])
            if raw is None:
                fail(where, f"no config for {workload['model']}")
                continue
            raw = dict(raw)
            raw.pop("quantization_config", None)
            config = AutoConfig.for_model(raw.pop("model_type"), **raw)
            # A vision-language model loads into its *ForConditionalGeneration class,
            # whose module tree (model.language_model, model.visual …) the map must name.
            factory = AutoModelForImageTextToText if hasattr(config, "vision_config") else AutoModelForCausalLM
            with torch.device("meta"):
                model = factory.from_config(config)
            modules = dict(model.named_modules())
            for key in device_map:
                expect(key in modules, where, f"{key} is not a module of {type(model).__name__}")
            keys = sorted(device_map)
            for a, b in zip(keys, keys[1:]):
                expect(not b.startswith(a + "."), where, f"{a} and {b} overlap")
            names = [n for n, _ in model.named_parameters()] + [n for n, _ in model.named_buffers()]
            for name in names:
                covered = any(name == key or name.startswith(key + ".") for key in device_map)
                expect(covered, where, f"{name} has no device")
            try:
                check_device_map(model, device_map)
            except ValueError as error:
                fail(where, f"accelerate's check_device_map: {error}")
            for group in find_tied_parameters(model):
                placed = {device_map[next(k for k in device_map if n == k or n.startswith(k + "."))] for n in group}
                expect(len(placed) == 1, where, f"tied parameters {group} on {placed}")
            cpu = [k for k, v in device_map.items() if v == "cpu"]
            expect(len(cpu) == (workload.get("cpuLayers") or 0), where, "modules in CPU RAM")
            # max_memory: each device holds at least what the map puts there.
            limits = json.loads(path.with_name(path.name.replace("device_map", "max_memory")).read_text())
            dtype = torch.float32 if workload["weightFormat"] in ("f32", "fp32") else torch.bfloat16
            sizes = compute_module_sizes(model, dtype=dtype)
            used = {}
            for key, device in device_map.items():
                used[str(device)] = used.get(str(device), 0) + sizes.get(key, 0)
            for device, size in used.items():
                expect(device in limits, where, f"max_memory has no entry for {device}")
                expect(size <= limits.get(device, 0), where, f"{device} holds {size} bytes, max_memory {limits.get(device)}")


PROBE = """
import json, os, sys
import torch.distributed as dist
dist.init_process_group("gloo")
record = {"rank": dist.get_rank(), "world": dist.get_world_size(),
          "local_world": int(os.environ["LOCAL_WORLD_SIZE"]), "visible": os.environ.get("CUDA_VISIBLE_DEVICES")}
dist.barrier()
with open(sys.argv[1], "a") as handle:
    handle.write(json.dumps(record) + "\\n")
dist.destroy_process_group()
"""


def check_torchrun():
    venv_bin = pathlib.Path(sys.executable).parent
    for folder, plan in scenarios():
        for workload, script in files_of(folder, plan, "torchrun", ".sh"):
            where = f"{folder.name}/{script.name}"
            training = workload["training"]
            with tempfile.TemporaryDirectory() as tmp:
                probe = pathlib.Path(tmp, "probe.py")
                probe.write_text(PROBE)
                log = pathlib.Path(tmp, "ranks.jsonl")
                with socket.socket() as free:
                    free.bind(("127.0.0.1", 0))
                    port = free.getsockname()[1]
                env = dict(os.environ, PATH=f"{venv_bin}:{os.environ['PATH']}", MASTER_ADDR="127.0.0.1",
                           MASTER_PORT=str(port), OMP_NUM_THREADS="1")
                nodes = training["nodes"]
                processes = []
                for rank in range(nodes):
                    node_env = dict(env, NODE_RANK=str(rank))
                    processes.append(subprocess.Popen(["bash", str(script), str(probe), str(log)], env=node_env,
                                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                for process in processes:
                    try:
                        _, err = process.communicate(timeout=600)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        fail(where, "torchrun did not finish in 10 minutes")
                        continue
                    expect(process.returncode == 0, where, f"torchrun exit {process.returncode}: {err[-800:]}")
                records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
                world = workload["dataParallel"]
                expect(sorted(r["rank"] for r in records) == list(range(world)), where,
                       f"ranks {sorted(r['rank'] for r in records)} of {world}")
                expect(all(r["world"] == world for r in records), where, "world size")
                expect(all(r["local_world"] == training["processesPerNode"] for r in records), where,
                       "processes per node")


def main():
    global GOLDEN
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["consumers", "vllm", "sglang"])
    parser.add_argument("--golden", type=pathlib.Path, default=ROOT / "Tests" / "Conformance" / "golden", help="folder of scenario folders")
    options = parser.parse_args()
    part = options.part
    GOLDEN = options.golden.resolve()
    {"consumers": check_consumers, "vllm": check_vllm, "sglang": check_sglang}[part]()
    if FAILURES:
        print(f"{part}: {len(FAILURES)} problem(s) in {CHECKS[0]} checks:")
        for failure in FAILURES:
            print("  " + failure)
        sys.exit(1)
    print(f"{part}: {CHECKS[0]} checks passed")


if __name__ == "__main__":
    main()
