import Foundation

/// `shardplan measure`: a self-contained Python script (PyTorch only) that measures
/// on the plan's own GPUs what the cost model assumes — HBM bandwidth with a large
/// copy, bf16 and fp8 GEMM TFLOP/s at the plan's shapes, NCCL all-reduce bus
/// bandwidth over the plan's tensor-parallel groups (under torchrun), and the peak
/// memory of two of the model's layers materialised from the meta device and run
/// over the plan's context — and prints each as a `shardplan-measure:` line that
/// `reconcile` reads (and `--write-calibration` turns into a calibration file).
///
/// `--small` divides every shape so that the script runs in seconds on a CPU
/// (gloo for the collective); the project's checks run it so.
package enum MeasureScript {
  /// The script for the first workload of `plan`.
  package static func text(plan: Plan, model: ModelSpec, graph: DeviceGraph) -> String {
    let workload = plan.workloads.first
    let tp = max(workload?.tensorParallel ?? 1, 1)
    // The tensor-parallel groups: each stage's devices, as one host numbers them.
    let groups: [[Int]] = (workload?.stages ?? []).map { stage in
      stage.devices.map { graph.gpus[$0].localIndex }
    }
    let kind = workload?.stages.first.flatMap { graph.slowestLink(among: $0.devices)?.kind.rawValue } ?? "none"
    let used = Array(Set(workload?.stages.flatMap(\.devices) ?? [0])).sorted()
    let gpus = used.map { index -> String in
      let gpu = graph.gpus[index]
      let name = Self.pythonString(gpu.name)
      let catalog = Self.pythonString(gpu.model ?? "")
      let bandwidth = gpu.memoryBandwidthBytesPerSecond ?? 0
      let peak = (gpu.bf16TFLOPS ?? 0) * 1e12
      return
        "{\"index\": \(gpu.localIndex), \"name\": \(name), \"catalog\": \(catalog), \"hbm\": \(bandwidth), \"bf16\": \(peak)}"
    }
    let hidden = model.hiddenSize
    let context = workload?.context ?? 4096
    let attention = model.attention
    let parameters = """
      PLAN = {
          "model": \(Self.pythonString(model.name)),
          "hidden": \(hidden),
          "intermediate": \(max(model.intermediateSize, hidden)),
          "heads": \(attention.heads),
          "kv_heads": \(attention.kvHeads),
          "head_dim": \(attention.keyHeadDim),
          "context": \(context),
          "prefill_tokens": \(min(context, 8192)),
          "tensor_parallel": \(tp),
          "groups": [\(groups.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }.joined(separator: ", "))],
          "link": \(Self.pythonString(kind)),
          "gpus": [\(gpus.joined(separator: ", "))],
      }
      """
    return header + parameters + "\n" + body
  }

  static func pythonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      default:
        if scalar.value < 0x20 || scalar.value > 0x7E {
          out += String(format: "\\u%04x", scalar.value & 0xFFFF)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }

  static let header = """
    #!/usr/bin/env python3
    # Written by `shardplan measure`. Measures, on the GPUs of the plan below, what
    # shardplan's cost model assumes, and prints `shardplan-measure:` lines that
    # `shardplan reconcile LOG --model … --topology …` reads and
    # `--write-calibration FILE` turns into a calibration file for `plan --calibration`.
    #
    #   python3 measure.py > measure.log                          # bandwidth, GEMMs, memory
    #   torchrun --nproc-per-node N measure.py > measure.log      # and the all-reduce
    #   python3 measure.py --small                                # small shapes, CPU-friendly
    #
    # Needs PyTorch only. The all-reduce uses NCCL on GPUs and gloo on the CPU.
    import argparse
    import json
    import os
    import sys
    import time

    import torch


    """

  static let body = """


    def emit(kind, **fields):
        text = " ".join(f"{key}={value}" for key, value in fields.items())
        print(f"shardplan-measure: {kind} {text}", flush=True)


    def sync(device):
        if device.type == "cuda":
            torch.cuda.synchronize(device)


    def timed(step, device, repeats):
        step()
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        sync(device)
        return (time.perf_counter() - start) / repeats


    def hbm(device, small):
        # A copy reads and writes every byte: 2 × size moved.
        size = (64 << 20) if small else (2 << 30)
        a = torch.empty(size // 2, dtype=torch.bfloat16, device=device)
        b = torch.empty_like(a)
        seconds = timed(lambda: b.copy_(a), device, 3 if small else 20)
        emit("hbm", device=device.index or 0, bytes_per_second=f"{2 * size / seconds:.6e}", bytes=size)


    def gemm(device, dtype_name, m, k, n, small):
        if dtype_name == "fp8":
            fp8 = getattr(torch, "float8_e4m3fn", None)
            capable = device.type == "cuda" and torch.cuda.get_device_capability(device) >= (8, 9)
            if fp8 is None or not capable or not hasattr(torch, "_scaled_mm"):
                emit("skip", what="gemm_fp8", why="needs_cuda_sm89")
                return
            a = torch.randn(m, k, device=device).to(fp8)
            b = torch.randn(n, k, device=device).to(fp8).t()
            one = torch.ones((), device=device)
            step = lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
        else:
            a = torch.randn(m, k, device=device, dtype=torch.bfloat16)
            b = torch.randn(k, n, device=device, dtype=torch.bfloat16)
            step = lambda: a @ b
        seconds = timed(step, device, 2 if small else 20)
        emit("gemm", device=device.index or 0, dtype=dtype_name, m=m, k=k, n=n,
             flops_per_second=f"{2 * m * k * n / seconds:.6e}")


    def peak_memory(device, small):
        # Two of the model's layers, made on the meta device and materialised where
        # they run, over the plan's context: the activations a forward pass keeps.
        if device.type != "cuda":
            emit("skip", what="peak_memory", why="needs_cuda_allocator_statistics")
            return
        hidden, inter = PLAN["hidden"], PLAN["intermediate"]
        heads, kv, head_dim = PLAN["heads"], PLAN["kv_heads"], PLAN["head_dim"]
        tokens = PLAN["context"] // (64 if small else 1)
        shapes = [(heads * head_dim, hidden), (kv * head_dim, hidden), (kv * head_dim, hidden),
                  (hidden, heads * head_dim), (inter, hidden), (inter, hidden), (hidden, inter)]
        with torch.device("meta"):
            layers = [[torch.nn.Linear(i, o, bias=False) for o, i in shapes] for _ in range(2)]
        layers = [[w.to_empty(device=device).to(torch.bfloat16) for w in layer] for layer in layers]
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        weights = torch.cuda.memory_allocated(device)
        x = torch.randn(tokens, hidden, device=device, dtype=torch.bfloat16)
        with torch.no_grad():
            for q, k, v, o, gate, up, down in layers:
                qs = q(x).view(1, tokens, heads, head_dim).transpose(1, 2)
                ks = k(x).view(1, tokens, kv, head_dim).transpose(1, 2).repeat_interleave(heads // kv, 1)
                vs = v(x).view(1, tokens, kv, head_dim).transpose(1, 2).repeat_interleave(heads // kv, 1)
                attended = torch.nn.functional.scaled_dot_product_attention(qs, ks, vs, is_causal=True)
                x = x + o(attended.transpose(1, 2).reshape(tokens, heads * head_dim))
                x = x + down(torch.nn.functional.silu(gate(x)) * up(x))
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - weights
        emit("peak_memory", device=device.index or 0, layers=2, tokens=tokens, bytes=peak)


    def all_reduce(small):
        import torch.distributed as dist
        cuda = torch.cuda.is_available()
        dist.init_process_group("nccl" if cuda else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
        if cuda:
            torch.cuda.set_device(device)
        groups = [g for g in PLAN["groups"] if len(g) > 1 and max(g) < world] or [list(range(world))]
        size = (8 << 20) if small else (256 << 20)
        for ranks in groups:
            group = dist.new_group(ranks)
            if rank not in ranks:
                continue
            t = torch.ones(size // 2, dtype=torch.bfloat16, device=device)
            seconds = timed(lambda: dist.all_reduce(t, group=group), device, 3 if small else 20)
            bus = 2 * (len(ranks) - 1) / len(ranks) * size / seconds
            if rank == ranks[0]:
                emit("allreduce", ranks="-".join(map(str, ranks)), link=PLAN["link"] if cuda else "gloo", bytes=size,
                     bus_bytes_per_second=f"{bus:.6e}")
        dist.destroy_process_group()


    def main():
        parser = argparse.ArgumentParser(description="Measure what shardplan's cost model assumes.")
        parser.add_argument("--small", action="store_true", help="small shapes: a quick run, on a CPU too")
        args = parser.parse_args()
        emit("plan", model=json.dumps(PLAN["model"]), torch=torch.__version__,
             cuda=torch.version.cuda if torch.cuda.is_available() else "none")
        if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
            all_reduce(args.small)
            return
        gpus = PLAN["gpus"] if torch.cuda.is_available() else [{"index": 0}]
        divide = 16 if args.small else 1
        m = max(PLAN["prefill_tokens"] // divide, 16)
        k = max(PLAN["hidden"] // divide, 16)
        n = max(PLAN["intermediate"] // PLAN["tensor_parallel"] // divide, 16)
        for gpu in gpus:
            device = torch.device("cuda", gpu["index"]) if torch.cuda.is_available() else torch.device("cpu")
            hbm(device, args.small)
            for dtype_name in ("bf16", "fp8"):
                gemm(device, dtype_name, m, k, n, args.small)
            peak_memory(device, args.small)


    if __name__ == "__main__":
        sys.exit(main())

    """
}
