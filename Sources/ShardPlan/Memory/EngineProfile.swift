/// An inference engine, by name. The built-in engines are the static members;
/// another engine is a name plus an ``EngineProfile`` handed to the planner with
/// the request (``InferenceRequest/profile``).
///
/// Encoded in JSON as its name.
public struct Engine: RawRepresentable, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
  /// The engine's name as plans and the command line spell it.
  public let rawValue: String

  /// A built-in engine by name; nil for any other name.
  public init?(rawValue: String) {
    guard let known = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
    self = known
  }

  /// An engine of any name (one with a profile of its own).
  package init(name: String) { rawValue = name }

  /// vLLM.
  public static let vllm = Engine(name: "vllm")
  /// SGLang.
  public static let sglang = Engine(name: "sglang")
  /// llama.cpp (`llama-server`).
  public static let llamaCpp = Engine(name: "llama.cpp")
  /// Hugging Face transformers with accelerate's big-model inference.
  public static let transformers = Engine(name: "transformers")

  /// The engine a model is planned for when none is named: llama.cpp for GGUF
  /// files and llama.cpp quantizations (what runs them), vLLM otherwise.
  package static func `default`(for model: ModelSpec, format: WeightFormat?) -> Engine {
    if case .gguf = format { return .llamaCpp }
    return model.tensorSource.isGGUF ? .llamaCpp : .vllm
  }

  /// The built-in engines.
  public static let allCases: [Engine] = [.vllm, .sglang, .llamaCpp, .transformers]

  /// The text reports print.
  public var description: String { rawValue }

  /// Decodes the value from its JSON form.
  public init(from decoder: any Decoder) throws {
    self.init(name: try decoder.singleValueContainer().decode(String.self))
  }

  /// Encodes the value in its JSON form.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(rawValue)
  }
}

/// How an engine sizes activations and compute buffers at inference
/// (``EngineProfile/activationBytes(model:context:batch:tensorParallel:)``).
package enum ActivationRule: Hashable, Sendable {
  /// vLLM and SGLang: the profile run's largest live set for a batch of tokens,
  /// in the weights' 2-byte dtype, plus fp32 logits for the sequences.
  case profiledBatch
  /// llama.cpp: the largest fp32 live set of one ubatch: the output logits,
  /// one layer's FFN intermediates, or (without flash attention) the attention
  /// scores over the whole cache.
  case computeBuffer
  /// transformers: one prefill of the whole context for the batch.
  case wholePrefill
}

/// What an engine allocates besides weights and KV cache, per GPU, with the source
/// of every constant. These are estimates: the engines measure at start-up (vLLM's
/// profile run, llama.cpp's no-alloc dry run), and shardplan cannot run them.
package struct EngineProfile: Hashable, Sendable {
  /// The engine described.
  package var engine: Engine
  /// CUDA context, allocator and library workspaces on each GPU.
  package var runtimeBytes: Int64
  /// CUDA graphs captured for decode batches.
  package var cudaGraphBytes: Int64
  /// Paged-attention block size in tokens (1: contiguous cache).
  package var kvBlockSize: Int
  /// Tokens processed in one forward pass when sizing activations
  /// (vLLM `max_num_batched_tokens`, llama.cpp `n_ubatch`).
  package var batchTokens: Int
  /// Sequences whose logits are computed in one step (vLLM `max_num_seqs`).
  package var maxSequences: Int
  /// Fraction of a card the engine takes for itself (vLLM
  /// `--gpu-memory-utilization`, SGLang `--mem-fraction-static`); nil when it
  /// allocates only what it needs.
  package var memoryFraction: Double?
  /// Where the numbers come from.
  package var sources: [String]
  /// How the engine sizes activations.
  package var activationRule: ActivationRule = .profiledBatch
  /// Whether attention runs as flash attention (llama.cpp `--flash-attn`, which
  /// shardplan's launch lines turn on). Without it, llama.cpp's compute buffer
  /// holds the attention scores of one ubatch over the whole cache.
  package var flashAttention: Bool = true
  /// Whether the engine splits tensors over GPUs (tensor parallelism). llama.cpp
  /// splits whole layers (`--split-mode layer`, its default; the row and tensor
  /// modes are not modelled), and transformers' `device_map` places whole
  /// modules, so both get pipeline-style splits only.
  package var splitsTensors: Bool = true
  /// Whether the engine spreads routed experts over GPUs (vLLM
  /// `--enable-expert-parallel`, SGLang `--ep-size`).
  package var expertParallel: Bool = true
  /// Whether CPU offload is among the plans searched by default: llama.cpp runs
  /// layers from RAM, accelerate copies `"cpu"` modules in; vLLM and SGLang
  /// offload only when asked (`--strategy offload`).
  package var plansOffload: Bool = false
  /// Whether offloaded layers run on the CPU from RAM (llama.cpp) rather than being
  /// copied to the GPU for every forward pass (accelerate, vLLM, SGLang).
  package var computesOffloadedLayersOnCPU: Bool = false
  /// Whether the engine can keep routed experts in CPU RAM and the rest on the
  /// GPUs (llama.cpp `--n-cpu-moe`).
  package var offloadsExperts: Bool = false
  /// Whether the engine keeps the input token embedding in host memory whatever
  /// goes to the GPUs (llama.cpp: the input layer's tensors go to the CPU buffer;
  /// a tied output head gets its own copy with the output layer).
  package var keepsInputEmbeddingOnHost: Bool = false
  /// The engine's 8-bit KV cache, which a fix suggests when memory is short.
  package var compactKVCache: KVCacheType = .fp8
  /// The KV cache type used when none is asked for.
  package var defaultKVCache: KVCacheType = .bf16
  /// Sequences the start-up profile runs, where they are not the plan's own: a
  /// logged run started with the engine's default (vLLM's `max_num_seqs` 256).
  /// nil: the plan's sequences per rank, which shardplan's launch line passes
  /// as `--max-num-seqs`.
  package var profiledSequences: Int?
  /// Whether the start-up profile samples the profiled sequences' logits with
  /// top-k and top-p (vLLM's dummy sampler run, V0 and V1), whose full sort
  /// then sets the activation peak when the vocabulary is large.
  package var profilesSampler = false
  /// Whether the CUDA context (``runtimeBytes``) and the CUDA graphs
  /// (``cudaGraphBytes``) lie outside the engine's memory fraction. vLLM (V0 and
  /// V1) measures its budget from a baseline taken after the context exists and
  /// captures its graphs after the KV cache is allocated, so its share
  /// (`--gpu-memory-utilization` × the card) holds the weights, the profile's
  /// peak, the non-torch memory the profile adds (NCCL's buffers) and the KV
  /// cache; the context and the graphs need room beside it.
  package var runtimeOutsideBudget = false
  /// A measured fixed overhead inside the budget on each GPU (a calibration's
  /// `engineOverheads`, vLLM's logged `non_torch_memory`), in place of the
  /// overheads the profile assumes there.
  package var measuredOverheadBytes: Int64?
  /// Seconds a decode step spends launching one layer's kernels where the engine
  /// cannot replay CUDA graphs, on a card older than compute capability 8.0
  /// (llama.cpp's `disable_due_to_gpu_arch`); 0 for engines whose launches the
  /// roofline's 3 µs a layer covers. See ``decodeLaunchSecondsPerLayer(computeCapabilities:)``.
  package var launchSecondsPerLayerWithoutGraphs = 0.0
  /// Whether the engine takes pipeline cuts from `VLLM_PP_LAYER_PARTITION`.
  package var setsLayerPartition: Bool = false
  /// Whether the engine refuses to start with a context longer than the model's
  /// limit (vLLM's `max_model_len` check, SGLang's `context_length` check; both
  /// need an environment override to go past it). llama.cpp warns and runs.
  package var refusesContextBeyondLimit: Bool = false
  /// The KV cache types the engine has, each with the value of its flag
  /// (vLLM `--kv-cache-dtype`, SGLang `--kv-cache-dtype`, llama.cpp `-ctk`/`-ctv`).
  package var kvCacheSpellings: [KVCacheType: String] = [:]

  /// The environment value that makes the engine cut pipeline stages where the
  /// plan does (vLLM's `VLLM_PP_LAYER_PARTITION`), nil when it splits that way
  /// by itself or takes no such value.
  package func layerPartition(_ stages: [Stage], layers: Int) -> String? {
    setsLayerPartition ? VLLMPartition.environmentValue(for: stages, layers: layers) : nil
  }

  /// The highest memory fraction a plan raises an engine to: 0.95 of the card,
  /// and never so much that the CUDA context and workspaces (``runtimeBytes``),
  /// and the CUDA graphs of an engine that captures them outside its budget,
  /// lose the room they need beside the engine's budget.
  package static let highestMemoryFraction = 0.95

  /// What the engine needs on each GPU outside its memory fraction.
  package var outsideBudgetBytes: Int64 {
    runtimeBytes + (runtimeOutsideBudget ? cudaGraphBytes : 0)
  }

  /// What the engine's own budget holds of its fixed overheads on each GPU of a
  /// collective group of `groupSize`: NCCL's buffers, and the CUDA context and
  /// graphs unless they lie outside it (``runtimeOutsideBudget``).
  package func overheadBytes(groupSize: Int) -> Int64 {
    if let measuredOverheadBytes { return measuredOverheadBytes }
    return (runtimeOutsideBudget ? 0 : runtimeBytes + cudaGraphBytes) + Self.ncclBytes(groupSize: groupSize)
  }

  /// The highest safe fraction of a card of `capacity` bytes for this engine.
  package func safeMemoryFraction(capacity: Int64) -> Double {
    guard capacity > 0 else { return Self.highestMemoryFraction }
    let room = 1 - Double(outsideBudgetBytes) / Double(capacity)
    return min(Self.highestMemoryFraction, (room * 100).rounded(.down) / 100)
  }

  /// The live set of vLLM's profile sampler at its peak, the sort that top-k and
  /// top-p need, for fp32 logits of `logits` bytes (sequences × vocabulary × 4):
  /// the model's 2-byte logits (½), their fp32 copy (1), the sorted values (1)
  /// and int64 indices (2), the index input (2), and the radix sort's double
  /// buffer of values and indices (1 + 2): 9.5 × the fp32 logits. Logits are
  /// gathered whole on the sampling rank, so tensor parallelism does not split
  /// them. Logged runs measured 9.6–10.0 × with the hidden states (Phi-4-mini
  /// under V0 0.7.3 and Qwen3-8B-FP8 under V1, `Fixtures/engine-logs`; three
  /// more quoted in the README, vocabularies of 128k to 200k); a build with
  /// FlashInfer's sampler skips the sort and needs less.
  package static func samplerSortBytes(logits: Int64) -> Int64 {
    logits * 19 / 2
  }

  /// The kernel-launch time of one layer in a decode step on GPUs of these
  /// compute capabilities: ``launchSecondsPerLayerWithoutGraphs`` where any of
  /// them is older than 8.0 (llama.cpp replays CUDA graphs only from Ampere on),
  /// else 0. The 110 µs is fit to ggml-ci's V100 runs (`Fixtures/engine-logs`:
  /// OpenLLaMA 7B at build 2197 and Pythia 2.8B at build 4343, 32 layers each,
  /// `-t 1`): with it, and the bytes of each run's cache, 16 of their 17 decode
  /// rates agree within 22% (Q3_K at build 2197 is 35% slower than its bytes).
  package func decodeLaunchSecondsPerLayer(computeCapabilities: [String?]) -> Double {
    guard launchSecondsPerLayerWithoutGraphs > 0 else { return 0 }
    let old = computeCapabilities.contains { capability in
      capability.flatMap { Double($0) }.map { $0 < 8.0 } ?? false
    }
    return old ? launchSecondsPerLayerWithoutGraphs : 0
  }

  /// NCCL's buffers on each GPU for a tensor-parallel group of `size`:
  /// 342 MiB for 2 GPUs, 392 MiB for 4 and 8 (aiconfigurator `misc.nccl_mem`,
  /// shared/reference/gpus/*.yaml); none for one GPU.
  package static func ncclBytes(groupSize: Int) -> Int64 {
    switch groupSize {
    case ...1: 0
    case 2: 358_612_992
    default: 411_041_792
    }
  }

  /// The profile of a built-in engine; an engine shardplan does not know gets a
  /// profile that plans nothing of its own (no memory fraction, no overheads,
  /// whole-prefill activations) and says so in its sources: give such an engine's
  /// profile with the request instead.
  package static func profile(_ engine: Engine) -> EngineProfile {
    switch engine {
    case .vllm:
      EngineProfile(
        engine: .vllm,
        runtimeBytes: 512 << 20,
        cudaGraphBytes: 512 << 20,
        kvBlockSize: 16,
        batchTokens: 8192,
        maxSequences: 256,
        memoryFraction: 0.9,
        sources: [
          "block size 16, gpu_memory_utilization 0.9, max_num_seqs 256, max_num_batched_tokens 8192: vLLM engine-argument defaults",
          "runtime 512 MiB: CUDA context + cuBLAS workspaces, vLLM's 'non_torch_memory' (typically 0.3–0.8 GiB)",
          "CUDA graphs 512 MiB: typical capture size; measured up to 2.4 GiB with TP 4 (vLLM #7553)",
          "the CUDA context and graphs lie beside --gpu-memory-utilization's share, which holds weights, the profile's peak, NCCL's buffers and the KV cache (vLLM's memory profiling)",
          "profile peak: the forward over max_num_batched_tokens, or the sampler's sort of max_num_seqs × vocab fp32 logits, 9.5 × them (Phi-4-mini under vLLM 0.7.3: 1.83 GiB, Fixtures/engine-logs)",
        ],
        profilesSampler: true,
        runtimeOutsideBudget: true,
        setsLayerPartition: true,
        refusesContextBeyondLimit: true,
        // vLLM's --kv-cache-dtype choices (auto is the model's dtype).
        kvCacheSpellings: [.bf16: "bfloat16", .f16: "float16", .fp8: "fp8"]
      )
    case .sglang:
      EngineProfile(
        engine: .sglang,
        runtimeBytes: 512 << 20,
        cudaGraphBytes: 512 << 20,
        kvBlockSize: 1,
        batchTokens: 8192,
        maxSequences: 256,
        memoryFraction: 0.88,
        sources: [
          "token-granular KV pool (page size 1), chunked prefill 8192 tokens: SGLang server defaults",
          "mem_fraction_static about 0.88 on large cards (SGLang picks it by card size)",
          "runtime and CUDA graph sizes as for vLLM",
        ],
        refusesContextBeyondLimit: true,
        // SGLang's --kv-cache-dtype choices: auto is the model's (fp16) dtype.
        kvCacheSpellings: [.bf16: "bf16", .f16: "auto", .fp8: "fp8_e4m3"]
      )
    case .llamaCpp:
      EngineProfile(
        engine: .llamaCpp,
        runtimeBytes: 250 << 20,
        cudaGraphBytes: 0,
        kvBlockSize: 256,
        batchTokens: 512,
        maxSequences: 1,
        memoryFraction: nil,
        sources: [
          "runtime 250 MiB: gguf-parser's default VRAM platform footprint",
          "n_ubatch 512 (llama.cpp default); context padded to 256 cells with flash attention (gguf-parser)",
          "token embedding in host memory: llama.cpp puts the input layer in the CPU buffer (281.81 MiB of Llama 3.1 8B Q4_K_M in a real run's log, Fixtures/engine-logs)",
          "110 µs of kernel launches a layer and decode step before compute capability 8.0, where llama.cpp replays no CUDA graphs: fit to ggml-ci's V100 runs (Fixtures/engine-logs)",
        ],
        activationRule: .computeBuffer,
        splitsTensors: false,
        expertParallel: false,
        plansOffload: true,
        computesOffloadedLayersOnCPU: true,
        offloadsExperts: true,
        keepsInputEmbeddingOnHost: true,
        compactKVCache: .q8_0,
        defaultKVCache: .f16,
        launchSecondsPerLayerWithoutGraphs: 110e-6,
        // llama.cpp's -ctk/-ctv types (ggml type names); it has no fp8 cache.
        kvCacheSpellings: Dictionary(
          uniqueKeysWithValues: KVCacheType.allCases.filter { $0 != .fp8 }.map { ($0, $0.rawValue) }
        )
      )
    case .transformers:
      EngineProfile(
        engine: .transformers,
        runtimeBytes: 512 << 20,
        cudaGraphBytes: 0,
        kvBlockSize: 1,
        batchTokens: 0,
        maxSequences: 1,
        memoryFraction: nil,
        sources: [
          "runtime 512 MiB: CUDA context + PyTorch caching allocator",
          "activations: one prefill forward with SDPA attention (no S² score matrix), logits of the last token only (generate)",
        ],
        activationRule: .wholePrefill,
        splitsTensors: false,
        expertParallel: false,
        plansOffload: true,
        // transformers' DynamicCache holds keys and values in the model's dtype.
        kvCacheSpellings: [.bf16: "bfloat16", .f16: "float16", .f32: "float32"]
      )
    default:
      EngineProfile(
        engine: engine,
        runtimeBytes: 0,
        cudaGraphBytes: 0,
        kvBlockSize: 1,
        batchTokens: 0,
        maxSequences: 1,
        memoryFraction: nil,
        sources: ["\(engine.rawValue) is not a built-in engine: pass its EngineProfile with the request"],
        activationRule: .wholePrefill,
        splitsTensors: false,
        expertParallel: false
      )
    }
  }

  /// Peak activation / compute-buffer bytes per GPU for inference at a context
  /// and batch, as this engine sizes them.
  ///
  /// - vLLM / SGLang: the profile run's largest live set for `batchTokens` tokens
  ///   (capped at context × batch): the residual stream and its normed copy, the
  ///   attention output and the MLP's gate, up and product (split by tensor
  ///   parallelism), in the weights' 2-byte dtype, plus fp32 logits for up to
  ///   `maxSequences` sequences. vLLM then samples those sequences, and the
  ///   sampler's sort (``samplerSortBytes(logits:)``) is the peak when it is
  ///   larger: 1.83 GiB for Phi-4-mini's 200k vocabulary at 256 sequences.
  /// - llama.cpp: ggml's allocator reuses memory as the graph runs, so the
  ///   compute buffer is the largest fp32 live set of one ubatch, not a sum: the
  ///   output (logits for every token of the ubatch plus the normed hidden
  ///   state), one layer's FFN intermediates (gate and up beside the normed
  ///   input and the residual: SiLU and the product run in place; OpenLLaMA
  ///   7B's 70.50 MiB at n_ctx 512, its output, bounds them), or, without
  ///   flash attention, the
  ///   attention scores of every head over the whole cache with the f32 mask
  ///   and four hidden-size tensors beside them (Ollama's `GraphSize` for
  ///   llama, which equals llama.cpp's own figure in the logs of
  ///   `Fixtures/engine-logs`: 258.50 MiB for Llama 3 8B at n_ctx 512 and
  ///   2048, where the output is the peak, and 560.00 MiB at n_ctx 8192).
  ///   With flash attention the scores are never stored; the f16 mask remains.
  /// - transformers: one prefill of the whole context for the batch.
  package func activationBytes(model: ModelSpec, context: Int, batch: Int, tensorParallel: Int) -> Int64 {
    let hidden = Int64(model.hiddenSize)
    let tp = Int64(max(tensorParallel, 1))
    let ffn = Int64(max(model.intermediateSize, model.hiddenSize)) / tp
    let vocab = Int64(model.vocabularySize)
    switch activationRule {
    case .profiledBatch:
      let sequences = max(profiledSequences ?? batch, 1)
      let tokens = Int64(min(batchTokens, max(context * sequences, 1)))
      let perToken = (4 * hidden + 3 * ffn) * 2
      let logits = Int64(min(maxSequences, sequences)) * vocab * 4
      let forward = tokens * perToken + logits
      guard profilesSampler else { return forward }
      // The batch's hidden states stay live while the sampler runs.
      return max(forward, tokens * hidden * 2 + Self.samplerSortBytes(logits: logits))
    case .computeBuffer:
      let tokens = Int64(min(batchTokens, max(context, 1)))
      // The cache the ubatch attends to: every sequence's context, in cells of kvBlockSize.
      let block = Int64(max(kvBlockSize, 1))
      let cells = (Int64(max(context, 1)) * Int64(max(batch, 1)) + block - 1) / block * block
      let heads = Int64(max(model.attention.heads, 1))
      let output = 4 * tokens * (hidden + vocab)
      // ggml's allocator runs SiLU and the gate × up product in place, so the FFN
      // peaks at the up projection: normed input, residual, gate and up.
      let feedForward = 4 * tokens * (2 * ffn + 2 * hidden)
      // A fused QKV projection's output stays live while its Q and K views are
      // roped into tensors of their own (a view's parent has other consumers,
      // so ggml cannot rope it in place): Pythia 2.8B's 162.00 MiB at n_ctx
      // 2048 is the scores with 6, not 4, hidden-size tensors beside them.
      let fused =
        model.hasFusedQKV
        ? Int64(model.attention.heads + model.attention.kvHeads) * Int64(model.attention.keyHeadDim) : 0
      let attention =
        flashAttention
        ? 4 * tokens * (4 * hidden + fused) + 2 * tokens * cells
        : 4 * tokens * (1 + 4 * hidden + fused + cells * (1 + heads))
      return max(output, feedForward, attention)
    case .wholePrefill:
      let tokens = Int64(max(context, 1)) * Int64(max(batch, 1))
      return tokens * (4 * hidden + 3 * ffn) * 2 + Int64(max(batch, 1)) * vocab * 4
    }
  }
}
