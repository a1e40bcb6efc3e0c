import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// vLLM's start-up profile and budget: what its `--gpu-memory-utilization` share
/// holds (weights, the profile's peak, the non-torch memory the profile adds, the
/// KV cache) and what lies beside it (the CUDA context and the CUDA graphs).
@Suite("vLLM profile and budget")
struct VLLMProfileTests {
  static let phi4Mini = "Tests/ShardPlanTests/Fixtures/engine-logs/models/phi-4-mini-instruct.config.json"

  /// The profile samples 256 sequences of Phi-4-mini's 200,064 logits, and the
  /// sort top-k and top-p need is the peak: 9.5 × 256 × 200,064 × 4 bytes
  /// (1,856.1 MiB) beside the hidden states of the 2,048 tokens V0 batches at
  /// max_model_len 2048 (2,048 × 3,072 × 2 bytes). vLLM 0.7.3 measured 1.83 GiB.
  @Test func theSamplerSortIsThePeakForALargeVocabulary() throws {
    let model = try ModelLoader(environment: [:]).load(Self.phi4Mini)
    var profile = EngineProfile.profile(.vllm)
    profile.profiledSequences = 256
    profile.batchTokens = 2048
    let logits: Int64 = 256 * 200_064 * 4
    #expect(EngineProfile.samplerSortBytes(logits: logits) * 2 == 19 * logits)
    let peak = profile.activationBytes(model: model, context: 2048, batch: 1, tensorParallel: 1)
    #expect(peak == 2048 * 3072 * 2 + logits * 19 / 2)
    let measured = 1.83 * 1_073_741_824.0
    #expect(abs(Double(peak) - measured) / measured < 0.005)
    // Tensor parallelism does not split the logits: they are gathered whole.
    #expect(profile.activationBytes(model: model, context: 2048, batch: 1, tensorParallel: 4) == peak)
  }

  /// With few sequences the forward is the peak again: one sequence of 8192
  /// tokens, (4 × 3,072 + 3 × 8,192) × 2 bytes a token plus one row of fp32
  /// logits, is larger than the sort of one row. SGLang does not sample in a
  /// profile, so its rule is the forward alone.
  @Test func theForwardIsThePeakForFewSequences() throws {
    let model = try ModelLoader(environment: [:]).load(Self.phi4Mini)
    let forward: Int64 = 8192 * (4 * 3072 + 3 * 8192) * 2 + 200_064 * 4
    #expect(
      EngineProfile.profile(.vllm).activationBytes(model: model, context: 8192, batch: 1, tensorParallel: 1) == forward
    )
    var sglang = EngineProfile.profile(.sglang)
    sglang.profiledSequences = 256
    let plain = sglang.activationBytes(model: model, context: 2048, batch: 1, tensorParallel: 1)
    #expect(plain == 8192 * (4 * 3072 + 3 * 8192) * 2 + 256 * 200_064 * 4)
  }

  /// vLLM's share of a card holds no CUDA context and no graphs: a one-GPU plan's
  /// overhead row is empty, and the highest fraction a fix offers leaves both
  /// beside the budget (1 GiB of a 12 GiB card: 0.91). llama.cpp's budget, the
  /// whole card, holds its context. A plan's overhead row holds NCCL's buffers
  /// alone.
  @Test func theContextAndGraphsLieBesideVLLMsBudget() throws {
    let vllm = EngineProfile.profile(.vllm)
    #expect(vllm.runtimeOutsideBudget)
    #expect(vllm.overheadBytes(groupSize: 1) == 0)
    #expect(vllm.overheadBytes(groupSize: 2) == EngineProfile.ncclBytes(groupSize: 2))
    #expect(vllm.outsideBudgetBytes == vllm.runtimeBytes + vllm.cudaGraphBytes)
    #expect(vllm.safeMemoryFraction(capacity: 12 << 30) == 0.91)
    let llama = EngineProfile.profile(.llamaCpp)
    #expect(llama.overheadBytes(groupSize: 1) == llama.runtimeBytes)
    #expect(llama.safeMemoryFraction(capacity: 12 << 30) == 0.95)
    let model = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.1-8B")
    let planner = try Planner(graph: try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"]))
    let plan = planner.plan(InferenceRequest(model: model, weights: .asStored(model), context: 8192))
    // Its only fixed overhead is NCCL's buffers, for the tensor-parallel group.
    let tp = try #require(plan.workloads.first).tensorParallel
    for device in plan.devices where device.weightBytes > 0 {
      #expect(device.overheadBytes == EngineProfile.ncclBytes(groupSize: tp))
      #expect(
        device.usedBytes == device.weightBytes + device.kvCacheBytes + device.activationBytes + device.overheadBytes
      )
    }
  }

  /// The scheduler sizes a log states are what reconcile plans with: V1's
  /// arguments line, V0's chunked-prefill line, and V0's default without
  /// chunked prefill, max(max_model_len, 2048).
  @Test func theLogsSchedulerSizesAreRead() throws {
    let v1 = try EngineLog.read(
      text: """
        (APIServer pid=1) INFO 09-28 [utils.py:328] non-default args: {'model': 'Qwen/Qwen3-8B', 'max_num_seqs': 64, 'max_num_batched_tokens': 4096}
        (EngineCore_DP0 pid=2) INFO 09-28 [gpu_worker.py:298] Available KV cache memory: 8.60 GiB

        """,
      source: "v1.log"
    )
    #expect(v1.maxSequences == 64 && v1.batchedTokens == 4096)
    let v0 = try EngineLog.read(
      text: """
        INFO 08-06 llm_engine.py:234] Initializing a V0 LLM engine (v0.7.3) with config: model='m', max_seq_len=1024, chunked_prefill_enabled=False
        INFO 08-06 model_runner.py:1115] Loading model weights took 7.1694 GB

        """,
      source: "v0.log"
    )
    #expect(v0.maxSequences == nil && v0.batchedTokens == 2048)
    let chunked = try EngineLog.read(
      text: """
        INFO 03-25 config.py:1712] Chunked prefill is enabled with max_num_batched_tokens=8192.
        INFO 03-25 llm_engine.py:234] Initializing a V0 LLM engine (v0.8.1) with config: model='m', max_seq_len=131072, chunked_prefill_enabled=True
        INFO 03-25 model_runner.py:1116] Loading model weights took 14.9888 GB

        """,
      source: "chunked.log"
    )
    #expect(chunked.batchedTokens == 8192)
    // Planned as logged: the profile samples the log's sequences, or vLLM's 256.
    let model = try ModelLoader(environment: [:]).load(Self.phi4Mini)
    let request = InferenceRequest(model: model, weights: .asStored(model), context: 1024)
    #expect(request.servingAsLogged(v1).profile.profiledSequences == 64)
    #expect(request.servingAsLogged(v1).profile.batchTokens == 4096)
    #expect(request.servingAsLogged(v0).profile.profiledSequences == 256)
    #expect(request.servingAsLogged(v0).profile.sources.contains { $0.contains("vLLM's default") })
  }
}

/// llama.cpp's decode on a card older than Ampere, where it replays no CUDA
/// graphs, and the cache a logged decode rate was measured over.
@Suite("llama.cpp decode without CUDA graphs")
struct LaunchTermTests {
  static let pythia = "Tests/ShardPlanTests/Fixtures/engine-logs/models/pythia-2.8b.config.json"

  @Test func launchesAreChargedOnlyBeforeAmpere() {
    let llama = EngineProfile.profile(.llamaCpp)
    #expect(llama.decodeLaunchSecondsPerLayer(computeCapabilities: ["7.0"]) == 110e-6)
    #expect(llama.decodeLaunchSecondsPerLayer(computeCapabilities: ["8.6", "7.5"]) == 110e-6)
    #expect(llama.decodeLaunchSecondsPerLayer(computeCapabilities: ["8.0", nil]) == 0)
    #expect(EngineProfile.profile(.vllm).decodeLaunchSecondsPerLayer(computeCapabilities: ["7.0"]) == 0)
  }

  /// Pythia 2.8B Q4_0 on the V100: a decode step takes 32 × 110 µs longer than
  /// with the launches taken out, and nothing else changes.
  @Test func aV100StepPaysItsLaunches() throws {
    let base = try ModelLoader(environment: [:]).load(Self.pythia)
    let format = try #require(WeightFormat(quant: "q4_0"))
    let model = base.converted(to: format)
    let graph = try TopologyLoader().load([
      Repository.path("Tests/ShardPlanTests/Fixtures/engine-logs/topologies/1x-v100-pcie-16gb.yaml")
    ])
    let planner = try Planner(graph: graph)
    let request = InferenceRequest(
      model: model,
      weights: .converted(format),
      context: 2048,
      kvCache: .f16,
      engine: .llamaCpp
    )
    var profile = request.profile
    profile.launchSecondsPerLayerWithoutGraphs = 0
    let with = try #require(planner.plan(request).workloads.first?.prediction.decodeTokensPerSecond)
    let without = try #require(
      planner.plan(request.serving(with: profile)).workloads.first?.prediction.decodeTokensPerSecond
    )
    #expect(abs((1 / with - 1 / without) - 32 * 110e-6) < 1e-9)
  }

  /// ggml-ci's llama-cli run timed a 7-token prompt and 255 generated tokens:
  /// its decode rate is of a cache of 7 + 255 / 2 = 134 tokens on average.
  @Test func theLoggedDecodeFill() throws {
    let log = try EngineLog.read(
      path: Repository.path(
        "Tests/ShardPlanTests/Fixtures/engine-logs/llamacpp-ggml-ci-b4343-pythia-2.8b-q4_0-v100.log"
      )
    )
    #expect(log.promptTokens == 7 && log.generatedTokens == 255)
    #expect(log.decodeFill == 134)
  }
}

/// Two vLLM processes on one card: each keeps its CUDA context and graphs (1 GiB
/// by the profile) beside its budget, so their budgets must leave 2 GiB.
@Suite("Roles sharing a card")
struct SharedCardTests {
  static func plan(fraction: Double?) throws -> Plan {
    let loader = ModelLoader(environment: [:])
    let graph = try TopologyLoader().load(["desktop-rtx-3060-12gb"])
    let requests = try ["meta-llama/Llama-3.2-1B", "TinyLlama/TinyLlama-1.1B-Chat-v1.0"].enumerated().map {
      index,
      id in
      var request = InferenceRequest(
        model: try loader.load(id),
        weights: .converted(.float(.bf16)),
        role: "r\(index)",
        context: 2048
      )
      if let fraction { request = try #require(Fix(.memoryFraction(fraction), summary: "").apply(to: request)) }
      return request
    }
    return try Planner(graph: graph).planRoles(requests)
  }

  /// 90% of a 12 GiB card leaves 1.2 GiB, short of two processes' 2 GiB; at 80%
  /// the 2.4 GiB left holds both.
  @Test func theRoomBesideTheBudgetsHoldsEveryProcess() throws {
    let vllm = EngineProfile.profile(.vllm)
    #expect(vllm.outsideBudgetBytes == 1 << 30)
    let crowded = try Self.plan(fraction: nil)
    #expect(crowded.verdict == .doesNotFit)
    #expect(crowded.reasons.contains { $0.contains("2 engine processes") && $0.contains("2.0 GiB") })
    let roomy = try Self.plan(fraction: 0.8)
    #expect(roomy.verdict != .doesNotFit)
    #expect(!roomy.reasons.contains { $0.contains("engine processes") })
  }
}

/// A logged llama.cpp decode rate is priced over the cache the run filled: the
/// same layout over 134 tokens reads less KV than over the plan's 2048, so it is
/// faster, and the plan's context does not leak into it.
@Suite("Decode priced as logged")
struct DecodeAsLoggedTests {
  @Test func theFillIsPricedNotTheContext() throws {
    let base = try ModelLoader(environment: [:]).load(LaunchTermTests.pythia)
    let format = try #require(WeightFormat(quant: "q4_0"))
    let graph = try TopologyLoader().load([
      Repository.path("Tests/ShardPlanTests/Fixtures/engine-logs/topologies/1x-v100-pcie-16gb.yaml")
    ])
    let planner = try Planner(graph: graph)
    let request = InferenceRequest(
      model: base.converted(to: format),
      weights: .converted(format),
      context: 2048,
      kvCache: .f16,
      engine: .llamaCpp
    )
    let plan = planner.plan(request)
    let log = try EngineLog.read(
      path: Repository.path(
        "Tests/ShardPlanTests/Fixtures/engine-logs/llamacpp-ggml-ci-b4343-pythia-2.8b-q4_0-v100.log"
      )
    )
    let logged = try #require(planner.decodeAsLogged(request, plan: plan, log: log))
    #expect(logged.context == 134)
    var filled = request
    filled.context = 134
    #expect(logged.tokensPerSecond == planner.plan(filled).workloads.first?.prediction.decodeTokensPerSecond)
    let full = try #require(plan.workloads.first?.prediction.decodeTokensPerSecond)
    // The 134 tokens take 256 cells (llama.cpp pads the cache to 256): the KV of
    // 2048 − 256 cells (327,680 bytes each) is not read at 80% of 900 GB/s.
    let saved = Double((2048 - 256) * 327_680) / (0.8 * 900e9)
    #expect(abs((1 / full - 1 / logged.tokensPerSecond) - saved) < 1e-9)
  }
}

/// The driver's reserved memory (nvidia-smi's `Reserved`) is inside the card's
/// total but no process can allocate it, and vLLM's fraction multiplies CUDA's
/// total, which leaves it out: every budget is a share of the total less it.
@Suite("Driver-reserved memory")
struct ReservedMemoryTests {
  static let mib = Units.mebibyte
  /// `nvidia-smi -q` of an 8× H100 SXM (driver 565): Total 81559 MiB, Reserved
  /// 454 MiB, Used 1 MiB on GPU 0.
  static let captured = "Topologies/captured/nvsmi-q_8xH100-SXM-80GB_drv565.txt"

  @Test func theCapturedReservationIsReadAndTakenOff() throws {
    let graph = try TopologyLoader().load([Repository.path(Self.captured)])
    let gpu = graph.gpus[0]
    #expect(gpu.memoryBytes == 81_559 * Self.mib)
    #expect(gpu.memoryReservedBytes == 454 * Self.mib)
    #expect(gpu.allocatableBytes == 81_105 * Self.mib)
    #expect(gpu.memoryAvailableBytes == 81_104 * Self.mib)
  }

  /// A vLLM plan's budget is 0.9 of 81,105 MiB less the 1 MiB in use, and the
  /// launch file's `--gpu-memory-utilization` is the largest thousandth whose share
  /// of those same 81,105 MiB stays within it.
  @Test func vllmsShareAndItsFlagAgree() throws {
    let graph = try TopologyLoader().load([Repository.path(Self.captured)])
    let model = try ModelLoader(environment: [:]).load("Qwen/Qwen3-8B")
    let plan = try Planner(graph: graph).plan(
      InferenceRequest(model: model, weights: .asStored(model), context: 8192, engine: .vllm)
    )
    #expect(plan.verdict == .fits)
    let gpu = try #require(plan.workloads.first?.stages.first?.devices.first)
    let device = try #require(plan.devices.first { $0.index == gpu })
    #expect(device.capacityBytes == 81_105 * Self.mib)
    #expect(device.usableBytes == Int64(0.9 * Double(81_105 * Self.mib)) - Self.mib)
    let files = try Emitter(plan: plan, graph: graph, models: ["default": model], origin: "test").emit([.vllm])
    let script = try #require(files.first { $0.name.hasPrefix("vllm") }?.contents)
    let flag = try #require(script.split(separator: "\n").first { $0.hasPrefix("  --gpu-memory-utilization") })
    let value = try #require(Double(flag.split(separator: " ").last { !$0.isEmpty && $0 != "\\" } ?? ""))
    #expect(value * Double(device.capacityBytes) <= Double(device.usableBytes))
    #expect((value + 0.001) * Double(device.capacityBytes) > Double(device.usableBytes))
  }

  /// A topology file may state the reservation; with the memory in use it must
  /// fit in the card.
  @Test func aTopologyFileStatesIt() throws {
    let yaml = "hosts:\n  - gpus:\n      - {model: h100-sxm, memoryReserved: 454 MiB}\n"
    let contents = try TopologyFile.read(yaml, source: "t.yaml")
    let graph = DeviceGraphBuilder.build(name: contents.name, hosts: contents.hosts)
    #expect(graph.gpus[0].allocatableBytes == 81_105 * Self.mib)
    let again = try TopologyFile.read(graph.topologyYAMLText(), source: "again.yaml")
    #expect(
      DeviceGraphBuilder.build(name: again.name, hosts: again.hosts).gpus[0].memoryReservedBytes == 454 * Self.mib
    )
    let error = try #require(
      throws: InputError.self,
      performing: {
        try TopologyFile.read(
          "hosts:\n  - gpus:\n      - {model: l4, memoryUsed: 20 GiB, memoryReserved: 3 GiB}\n",
          source: "t.yaml"
        )
      }
    )
    #expect(error.field == "memoryReserved")
  }

  /// Without `memory.used`, what is used is total − free − reserved (NVML's total
  /// is reserved + used + free): 81559 − 81000 − 454 = 105 MiB.
  @Test func usedFromFreeLeavesTheReservationOut() throws {
    let folder = try SyntheticFiles.folder("reserved")
    let path = folder.appendingPathComponent("query.csv").path
    try """
    index, name, memory.total [MiB], memory.free [MiB], memory.reserved [MiB]
    0, NVIDIA H100 80GB HBM3, 81559 MiB, 81000 MiB, 454 MiB

    """.write(toFile: path, atomically: true, encoding: .utf8)
    let gpu = try TopologyLoader().load([path]).gpus[0]
    #expect(gpu.memoryUsedBytes == 105 * Self.mib)
    #expect(gpu.memoryAvailableBytes == 81_000 * Self.mib)
  }
}
