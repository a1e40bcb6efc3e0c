import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// Engine logs as vLLM, SGLang, llama.cpp and Ollama print them (real excerpts
/// from public threads, in Fixtures/engine-logs with their sources), read into
/// figures and set beside shardplan's plan for the same run (issue 10, item 1).
@Suite("Engine logs")
struct EngineLogTests {
  static func log(_ name: String) throws -> EngineLog {
    try EngineLog.read(path: Repository.path("Tests/ShardPlanTests/Fixtures/engine-logs/\(name)"))
  }

  static let mib = 1024.0 * 1024
  static let gib = mib * 1024

  /// Each figure as the log line prints it, by term and device.
  static func value(_ log: EngineLog, _ term: EngineLog.Term, _ device: String? = nil) -> Double? {
    log.figures.last { $0.term == term && (device == nil || $0.device == device) && !$0.isEstimate }?.value
  }

  @Test func llamaCppBuffersPerDevice() throws {
    let log = try Self.log("llamacpp-pr6122-rtx4070ti-rtx3090ti.log")
    #expect(log.engine == .llamaCpp)
    #expect(Self.value(log, .weights, "CUDA0") == 5434.38 * Self.mib)
    #expect(Self.value(log, .weights, "CUDA1") == 13989.53 * Self.mib)
    #expect(Self.value(log, .hostWeights, "CPU") == 1640.62 * Self.mib)
    #expect(Self.value(log, .kvCache, "CUDA0") == 1536 * Self.mib)
    #expect(Self.value(log, .kvCache, "CUDA1") == 3584 * Self.mib)
    #expect(Self.value(log, .activations, "CUDA0") == 672.01 * Self.mib)
    #expect(Self.value(log, .gpuLayers) == 41)
    #expect(Self.value(log, .context) == 4096)
    // The two KV buffers are the "KV self size" the log states.
    #expect((Self.value(log, .kvCache, "CUDA0") ?? 0) + (Self.value(log, .kvCache, "CUDA1") ?? 0) == 5120 * Self.mib)
    // Host-side buffers (CUDA_Host output and compute) are not GPU figures.
    #expect(!log.figures.contains { $0.device == "CUDA_Host" })
    let flash = try Self.log("llamafile-pr552-rtx4080.log")
    #expect(flash.flashAttention == false)
    // Its context lines print no `flash_attn`: a build from before flash attention.
    #expect(log.flashAttention == false)
  }

  /// `flash_attn = auto` is settled by llama.cpp's next line; without it the
  /// value stays unknown rather than read as off.
  @Test func flashAttentionAutoIsSettledByTheEngine() throws {
    let context = "llama_context: n_ctx         = 65536\nllama_context: flash_attn    = auto\n"
    let settled = try EngineLog.read(
      text: context + "llama_context: Flash Attention was auto, set to enabled\n",
      source: "auto.log"
    )
    #expect(settled.flashAttention == true)
    let open = try EngineLog.read(text: context, source: "auto.log")
    #expect(open.flashAttention == nil)
    let old = try EngineLog.read(text: "llama_new_context_with_model: n_ctx      = 512\n", source: "b2197.log")
    #expect(old.flashAttention == false)
  }

  /// llama-cli's 8-token test prompt times launches, not prefill; a perplexity
  /// run's 8192 tokens are prefill throughput.
  @Test func shortPromptsAreNotPrefillThroughput() throws {
    func prefill(_ tokens: Int, _ rate: String) throws -> Double? {
      let line =
        "llama_print_timings: prompt eval time =      19.61 ms / \(tokens) tokens (    2.45 ms per token, \(rate) tokens per second)\n"
      let log = try EngineLog.read(text: "llama_new_context_with_model: n_ctx      = 512\n" + line, source: "t.log")
      return Self.value(log, .prefillTokensPerSecond)
    }
    #expect(try prefill(8, "407.96") == nil)
    #expect(try prefill(EngineLog.minimumPrefillTokens - 1, "900.00") == nil)
    #expect(try prefill(8192, "2487.81") == 2487.81)
  }

  @Test func vllmPerWorkerProfile() throws {
    let log = try Self.log("vllm-pr14447-four-workers.log")
    #expect(log.engine == .vllm)
    for worker in ["pid=507", "pid=521", "pid=577"] {
      #expect(Self.value(log, .weights, worker) == 21.21 * Self.gib)
      #expect(Self.value(log, .overheads, worker) == 0.20 * Self.gib)
      #expect(Self.value(log, .activations, worker) == 0.37 * Self.gib)
      #expect(Self.value(log, .kvCache, worker) == 1.57 * Self.gib)
    }
    #expect(Self.value(log, .budget, "pid=507") == 23.35 * Self.gib)
    // vLLM V1 and the KV lines of issue 21348, thousands separators included.
    #expect(Self.value(try Self.log("vllm-pr12569-v1-llama70b-w8a8.log"), .weights) == 67.7229 * Self.gib)
    let v1 = try Self.log("vllm-sglang-issue21348-qwen3-235b-fp8-4xh100.log")
    #expect(Self.value(v1, .kvCache) == 8.11 * Self.gib)
    #expect(Self.value(v1, .kvTokens) == 178_880)
  }

  @Test func sglangWeightsAndPool() throws {
    let log = try Self.log("sglang-pr18263-qwen3moe.log")
    #expect(log.engine == .sglang)
    #expect(Self.value(log, .weights) == 56.98 * Self.gib)
    #expect(Self.value(log, .kvCache) == (76.44 + 76.44) * Self.gib)
    #expect(Self.value(log, .kvTokens) == 1_669_816)
  }

  @Test func prefixesAndColoursAreStripped() throws {
    let text = """
      \u{1B}[32mINFO\u{1B}[0m 05-01 10:00:00 [gpu_worker.py:220] Available KV cache memory: 54.81 GiB
      [2025-09-03 18:33:18 TP1] Load weight end. type=LlamaForCausalLM, dtype=torch.bfloat16, avail mem=63.42 GB, mem usage=14.99 GB.
      llama_perf_context_print:        eval time =    1234.56 ms /   127 runs   (    9.72 ms per token,   102.87 tokens per second)
      llama_perf_context_print: prompt eval time =     100.00 ms /   512 tokens (    0.20 ms per token,  5120.00 tokens per second)
      something else entirely
      """
    let log = try EngineLog.read(text: text, source: "mixed.log")
    #expect(Self.value(log, .kvCache) == 54.81 * Self.gib)
    #expect(Self.value(log, .weights, "TP1") == 14.99 * Self.gib)
    #expect(Self.value(log, .decodeTokensPerSecond) == 102.87)
    #expect(Self.value(log, .prefillTokensPerSecond) == 5120)
    #expect(log.skippedLines == 1)
  }

  @Test func aLogOfNothingKnownIsRefused() {
    #expect {
      _ = try EngineLog.read(text: "hello\nworld\n", source: "other.log")
    } throws: { error in
      guard let error = error as? InputError else { return false }
      return error.code == .unrecognized && error.source == "other.log" && error.description.contains("vLLM")
        && error.description.contains("llama.cpp") && error.description.contains("SGLang")
        && error.description.contains("Ollama")
    }
  }

  /// The whole loop on a real run: Llama 3.1 8B Instruct in Q4_K_M on one RTX
  /// 4090 with Ollama (llama.cpp), 8192 cells of f16 cache. shardplan's Q4_K_M
  /// bytes equal llama.cpp's GPU and host weight buffers together to 0.01%; its
  /// KV cache is exact (32 layers × 8192 cells × 8 KV heads × 128 × 2 (K, V) × 2
  /// bytes = 1 GiB); all 33 layer slots on the GPU and the context agree. What
  /// does not: llama.cpp keeps the token embedding (281.8 MiB at Q4_K) in host
  /// memory, which shardplan counts on the GPU, and this run had flash attention
  /// off, so its compute buffer holds attention scores shardplan does not plan.
  @Test func llama31OnAnRTX4090Reconciles() throws {
    let log = try Self.log("ollama-llama3.1-8b-q4_k_m-rtx4090.log")
    let graph = try TopologyLoader().load(["4x-rtx-4090"])
    let base = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.1-8B")
    guard let format = WeightFormat(quant: "q4_k_m") else {
      throw InputError(.malformed, source: "q4_k_m", message: "")
    }
    let model = base.converted(to: format)
    var planner = try Planner(graph: graph)
    planner.objective = .fewestGPUs
    let plan = planner.plan(
      InferenceRequest(model: model, weights: .converted(format), context: 8192, kvCache: .f16, engine: .llamaCpp)
    )
    let figures = try Reconciliation.PlanFigures.read(Data(try plan.jsonText().utf8), source: "plan.json")
    let reconciliation = Reconciliation(log: log, plan: figures)
    let gpuWeights = try #require(reconciliation.rows.first { $0.term == .weights && $0.logDevice == "CUDA0" })
    let hostWeights = try #require(reconciliation.rows.first { $0.term == .hostWeights })
    // Each side to 0.01%: the layers and the output head on the GPU, the token
    // embedding in host memory (llama.cpp's input layer), as the buffers say.
    #expect(abs(gpuWeights.relativeError ?? 1) < 1e-4, "\(gpuWeights)")
    #expect(abs(hostWeights.relativeError ?? 1) < 1e-4, "\(hostWeights)")
    let kv = try #require(reconciliation.rows.first { $0.term == .kvCache && $0.logDevice == "CUDA0" })
    #expect(kv.predicted == kv.measured)
    #expect(kv.measured == Double(32 * 8192 * 8 * 128 * 2 * 2))
    #expect(reconciliation.rows.first { $0.term == .context }?.relativeError == 0)
    #expect(reconciliation.rows.first { $0.term == .gpuLayers && $0.logDevice == nil }?.relativeError == 0)
    #expect(reconciliation.notes.contains { $0.contains("without flash attention") })
    #expect(reconciliation.tableText().contains("GPU 0 (CUDA0)"))
  }
}

/// vLLM's block and concurrency lines, GPUStack's llama-box, and nvidia-smi's
/// memory samples.
@Suite("Engine logs: pool sizes, GPUStack and nvidia-smi")
struct PoolAndSMITests {
  static let phi4Mini = "Tests/ShardPlanTests/Fixtures/engine-logs/models/phi-4-mini-instruct.config.json"

  /// GPUStack's llama-box prints llama.cpp's lines behind a bracketed timestamp
  /// and a level: its Metal and CPU buffers, layers and context are read.
  @Test func gpustackLlamaBox() throws {
    let log = try EngineLogTests.log("llamabox-gpustack-issue2040-metal-m1pro.log")
    #expect(log.engine == .llamaCpp)
    #expect(EngineLogTests.value(log, .weights, "Metal") == 2375.91 * EngineLogTests.mib)
    #expect(EngineLogTests.value(log, .hostWeights) == 304.28 * EngineLogTests.mib)
    #expect(EngineLogTests.value(log, .gpuLayers) == 37)
    #expect(EngineLogTests.value(log, .context) == 32768)
    #expect(log.flashAttention == false && log.microBatch == 512)
  }

  /// V0's `# cuda blocks: 13618` is 13618 × 16 tokens, and its concurrency line
  /// is the pool over the context: 217,888 / 2,048 = 106.39.
  @Test func vllmBlocksAndConcurrency() throws {
    let log = try EngineLogTests.log("vllm-v0.7.3-phi-4-mini-a100-40gb-ctx2048.log")
    #expect(EngineLogTests.value(log, .kvTokens) == Double(13618 * 16))
    #expect(EngineLogTests.value(log, .maxConcurrency) == 106.39)
    #expect(abs(217_888.0 / 2048 - 106.39) < 0.005)
  }

  /// The pool's tokens under a plan: its pool over the KV bytes of a token, in
  /// whole blocks of 16, the fewest over the GPUs; Phi-4-mini's 32 layers × 8
  /// heads × 128 × 2 × 2 bytes = 128 KiB a token.
  @Test func poolTokensFromThePlan() throws {
    let model = try ModelLoader(environment: [:]).load(Self.phi4Mini)
    let graph = try TopologyLoader().load([
      Repository.path("Tests/ShardPlanTests/Fixtures/engine-logs/topologies/1x-a100-40gb-39.56gib.yaml")
    ])
    let plan = try Planner(graph: graph).plan(InferenceRequest(model: model, weights: .asStored(model), context: 2048))
    let figures = try Reconciliation.PlanFigures.read(Data(try plan.jsonText().utf8), source: "plan.json")
    let device = try #require(figures.devices[figures.gpus[0]])
    #expect(device.kvCacheBytes == 2048 * 128 * 1024)
    let tokens = try #require(Reconciliation.poolTokens(figures))
    #expect(tokens == ((device.kvCacheBytes + device.freeBytes) / (128 * 1024) / 16).rounded(.down) * 16)
  }

  /// `nvidia-smi --query-gpu=index,memory.used --format=csv -l 1`: the header
  /// names the columns, each GPU keeps its highest sample, and a log of samples
  /// alone is nvidia-smi's; beside an engine's lines they are the engine's run.
  @Test func nvidiaSmiSamplesKeepEachGPUsPeak() throws {
    let samples = """
      index, memory.used [MiB]
      0, 1024 MiB
      1, 980 MiB
      0, 71234 MiB
      1, 70100 MiB
      0, 70000 MiB
      1, 70050 MiB

      """
    let log = try EngineLog.read(text: samples, source: "smi.csv")
    #expect(log.engine == .nvidiaSmi)
    #expect(EngineLogTests.value(log, .memoryUsed, "GPU0") == Double(71234 * 1_048_576))
    #expect(EngineLogTests.value(log, .memoryUsed, "GPU1") == Double(70100 * 1_048_576))
    let mixed = try EngineLog.read(
      text: "INFO 08-06 worker.py:267] model weights take 7.17GiB; non_torch_memory takes 0.01GiB\n" + samples,
      source: "mixed.log"
    )
    #expect(mixed.engine == .vllm)
    #expect(mixed.figures.filter { $0.term == .memoryUsed }.count == 2)
    // A row whose columns are not the header's is not a sample.
    let odd = try EngineLog.read(
      text: "memory.used [MiB]\n12 MiB\n3, 4 MiB\nmodel weights take 1.00GiB\n",
      source: "odd.log"
    )
    #expect(odd.figures.filter { $0.term == .memoryUsed }.map(\.value) == [Double(12 * 1_048_576)])
  }

  /// What nvidia-smi shows of a vLLM plan: the budget it fills, and its CUDA
  /// context and graphs beside it.
  @Test func nvidiaSmiAgainstAVLLMPlan() throws {
    let model = try ModelLoader(environment: [:]).load(Self.phi4Mini)
    let graph = try TopologyLoader().load([
      Repository.path("Tests/ShardPlanTests/Fixtures/engine-logs/topologies/1x-a100-40gb-39.56gib.yaml")
    ])
    let plan = try Planner(graph: graph).plan(InferenceRequest(model: model, weights: .asStored(model), context: 2048))
    let figures = try Reconciliation.PlanFigures.read(Data(try plan.jsonText().utf8), source: "plan.json")
    let log = try EngineLog.read(text: "memory.used [MiB]\n36000 MiB\n", source: "smi.csv")
    let row = try #require(Reconciliation(log: log, plan: figures).rows.first { $0.term == .memoryUsed })
    let device = try #require(figures.devices[figures.gpus[0]])
    let vllm = EngineProfile.profile(.vllm)
    #expect(row.predicted == device.usableBytes + Double(vllm.runtimeBytes + vllm.cudaGraphBytes))
    #expect(row.device == "GPU \(figures.gpus[0])")
  }
}

/// `shardplan measure`: the script it writes and the lines that script prints.
@Suite("The measure script")
struct MeasureScriptTests {
  /// The lines of a run (these from the script on a CPU, `--small`, and under
  /// torchrun with two gloo processes) read as measurements, each where it belongs.
  @Test func itsLinesAreRead() throws {
    let log = try EngineLog.read(
      text: """
        shardplan-measure: plan model="meta-llama/Llama-3.1-8B" torch=2.13.0+cpu cuda=none
        shardplan-measure: hbm device=0 bytes_per_second=1.412592e+11 bytes=67108864
        shardplan-measure: gemm device=0 dtype=bf16 m=512 k=256 n=112 flops_per_second=3.109145e+11
        shardplan-measure: skip what=gemm_fp8 why=needs_cuda_sm89
        shardplan-measure: allreduce ranks=0-1 link=nvlink bytes=8388608 bus_bytes_per_second=1.623661e+09
        shardplan-measure: peak_memory device=1 layers=2 tokens=8192 bytes=1073741824
        shardplan-measure: hbm device=0 bytes_per_second=-5
        """,
      source: "measure.log"
    )
    #expect(log.engine == .measure)
    #expect(log.figures(.hbmBandwidth).map(\.value) == [1.412592e11])
    #expect(log.figures(.gemmBF16).first?.device == "GPU0")
    #expect(log.figures(.allReduceBusBandwidth).first?.device == "nvlink")
    #expect(log.figures(.peakMemory).first?.value == 1_073_741_824)
    // A negative rate is no measurement.
    #expect(log.figures(.hbmBandwidth).count == 1)
  }

  /// The script carries the plan's shapes and its tensor-parallel group as the
  /// host numbers its GPUs, and the link kind of that group.
  @Test func theScriptCarriesThePlan() throws {
    let spec = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.1-8B")
    let graph = try TopologyLoader().load(["8x-h100-sxm"])
    let request = InferenceRequest(
      model: spec,
      weights: .converted(.float(.bf16)),
      context: 8192,
      concurrency: 1,
      kvCache: .bf16,
      engine: .vllm
    )
    let plan = try Planner(graph: graph, strategy: .tensor, objective: .latency).plan(request)
    let tp = try #require(plan.workloads.first?.tensorParallel)
    let script = MeasureScript.text(plan: plan, model: spec, graph: graph)
    #expect(script.contains("\"hidden\": 4096,") && script.contains("\"intermediate\": 14336,"))
    #expect(script.contains("\"tensor_parallel\": \(tp),"))
    #expect(script.contains("\"groups\": [[" + (0..<tp).map(String.init).joined(separator: ", ") + "]],"))
    #expect(script.contains("\"link\": \"nvswitch\","))
    #expect(script.hasPrefix("#!/usr/bin/env python3"))
  }
}
