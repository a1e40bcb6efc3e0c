import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

@Suite("KV cache and memory model")
struct MemoryModelTests {
  static func bundled(_ id: String) throws -> ModelSpec {
    try ModelLoader(environment: [:]).load(id)
  }

  @Test func gqaKVPerTokenByHand() throws {
    // Llama-3.1-8B: 32 layers × 8 KV heads × 128 dims × (K + V) × 2 bytes.
    let spec = try Self.bundled("meta-llama/Llama-3.1-8B")
    let kv = KVCacheModel(attention: spec.attention, type: .bf16)
    #expect(kv.bytesPerToken() == 32 * 8 * 128 * 2 * 2)
    // Tensor parallelism 2 halves the heads per rank; 16 exceeds the 8 KV heads: one head per rank (replicated).
    #expect(kv.bytesPerToken(tensorParallel: 2) == 32 * 4 * 128 * 2 * 2)
    #expect(kv.bytesPerToken(tensorParallel: 16) == 32 * 1 * 128 * 2 * 2)
    // fp8 halves it; q8_0 stores 34 bytes per 32 values, K and V rows separately.
    #expect(KVCacheModel(attention: spec.attention, type: .fp8).bytesPerToken() == 32 * 8 * 128 * 2)
    #expect(KVCacheModel(attention: spec.attention, type: .q8_0).bytesPerToken() == 32 * 2 * (8 * 128 / 32 * 34))
    // vLLM blocks of 16: 1000 tokens occupy 63 blocks = 1008 slots.
    #expect(kv.bytes(context: 1000, sequences: 3, blockSize: 16) == 3 * 1008 * 32 * 8 * 128 * 2 * 2)
  }

  @Test func mlaKVPerTokenByHand() throws {
    // DeepSeek-V3: 61 layers × (kv_lora_rank 512 + rope 64) × 2 bytes; all heads share the latent.
    let spec = try Self.bundled("deepseek-ai/DeepSeek-V3")
    let kv = KVCacheModel(attention: spec.attention, type: .bf16)
    #expect(kv.bytesPerToken() == 61 * (512 + 64) * 2)
    // The latent is not split by tensor parallelism.
    #expect(kv.bytesPerToken(tensorParallel: 8) == 61 * (512 + 64) * 2)
  }

  @Test func slidingWindowKVByHand() throws {
    // Mistral-7B-v0.1: every layer has a 4096-token window.
    let mistral = try Self.bundled("mistralai/Mistral-7B-v0.1")
    let kv = KVCacheModel(attention: mistral.attention, type: .bf16)
    let perToken: Int64 = 32 * 8 * 128 * 2 * 2
    #expect(kv.bytes(context: 32_768, sequences: 1) == 4096 * perToken)
    #expect(kv.bytes(context: 1000, sequences: 1) == 1000 * perToken)
    // gpt-oss-20b: 12 sliding layers (window 128) and 12 full layers, 8 KV heads × 64 dims.
    let oss = try Self.bundled("openai/gpt-oss-20b")
    let layer: Int64 = 8 * 64 * 2 * 2
    let ossKV = KVCacheModel(attention: oss.attention, type: .bf16)
    #expect(ossKV.bytes(context: 10_000, sequences: 1) == 12 * 10_000 * layer + 12 * 128 * layer)
  }

  @Test func encodersHaveNoKVCache() throws {
    let bert = try Self.bundled("google-bert/bert-base-cased")
    #expect(KVCacheModel(attention: bert.attention, type: .bf16).bytesPerToken() == 0)
  }

  /// Llama-2-70B's config (public; the shapes of meta-llama/Llama-2-70b-hf).
  static let llama2_70b = """
    {"architectures":["LlamaForCausalLM"],"hidden_size":8192,"intermediate_size":28672,"max_position_embeddings":4096,
     "model_type":"llama","num_attention_heads":64,"num_hidden_layers":80,"num_key_value_heads":8,
     "rms_norm_eps":1e-05,"tie_word_embeddings":false,"torch_dtype":"float16","vocab_size":32000}
    """

  @Test(arguments: [
    // Known GGUF file sizes on the Hub (decimal GB, shared/reference/models/README.md):
    // the tensor bytes must come within 0.5% (the rest is metadata and the tokenizer).
    ("q4_k_m", 41.42), ("q5_k_m", 48.75),
  ])
  func llamaCppPresetsMatchRealFileSizes(_ preset: String, _ gigabytes: Double) throws {
    let spec = try HFConfigReader.read(Data(Self.llama2_70b.utf8), name: "llama-2-70b", source: "test")
    let format = try #require(WeightFormat(quant: preset))
    let bytes = Double(spec.converted(to: format).weightBytes)
    let error = abs(bytes / (gigabytes * 1e9) - 1)
    #expect(error < 0.005, "\(preset): \(bytes / 1e9) GB vs \(gigabytes) GB")
  }

  @Test func quantizedSizesFollowTheLayouts() throws {
    let spec = try Self.bundled("meta-llama/Llama-3.1-8B")
    let linear = spec.tensors.filter { $0.layer != nil && $0.shape.count == 2 }.reduce(Int64(0)) { $0 + $1.elements }
    let rest = spec.weightBytes - linear * 2
    // int8 (LLM.int8): 1 byte per weight + 4 bytes per output row.
    let rows = spec.tensors.filter { $0.layer != nil && $0.shape.count == 2 }.reduce(Int64(0)) { $0 + $1.shape[0] }
    #expect(spec.converted(to: .int8).weightBytes == rest + linear + rows * 4)
    // fp8 block: 1 byte per weight + 4 bytes per 128×128 block.
    let blocks = spec.tensors.filter { $0.layer != nil && $0.shape.count == 2 }.reduce(Int64(0)) {
      $0 + (($1.shape[0] + 127) / 128) * (($1.shape[1] + 127) / 128)
    }
    #expect(spec.converted(to: .fp8).weightBytes == rest + linear + blocks * 4)
  }

  @Test func inferenceEstimateAddsItsParts() throws {
    let spec = try Self.bundled("Qwen/Qwen3-32B")
    let workload = Workload(context: 32_768, batch: 1, kvCache: .bf16, engine: .vllm, gpus: 1)
    let estimate = MemoryModel.estimate(model: spec, workload: workload, weights: .converted(.float(.bf16)))
    #expect(estimate.weightBytes == 65_524_246_528)
    #expect(estimate.kvBytesPerToken == 64 * 8 * 128 * 2 * 2)
    #expect(estimate.kvCacheBytes == 32_768 * 64 * 8 * 128 * 2 * 2)
    #expect(
      estimate.perGPUBytes == estimate.weightBytes + estimate.kvCacheBytes + estimate.activationBytes
        + estimate.overheadBytes
    )
    // The input embedding (151936 × 5120) is a lookup, not a matrix product.
    #expect(estimate.flopsPerToken == 2 * (estimate.activeParameters - 151_936 * 5_120))
  }

  @Test func fullTrainingIsSixteenBytesPerParameterPlusActivations() throws {
    let spec = try Self.bundled("meta-llama/Llama-3.2-1B")
    let training = Workload.Training(method: .full, optimizer: .adamw, zeroStage: 0)
    let estimate = MemoryModel.estimate(
      model: spec,
      workload: Workload(mode: .training(training), context: 2048, batch: 1, gpus: 1),
      weights: .converted(.float(.bf16))
    )
    let p = spec.parameters
    #expect(estimate.gradientBytes == 2 * p)
    #expect(estimate.optimizerBytes == 12 * p)
    // Korthikanti et al. with flash attention: 34·s·b·h per layer, plus bf16+fp32 logits.
    let activations: Int64 = 34 * 2048 * 2048 * 16 + 2048 * 128_256 * 6
    #expect(estimate.activationBytes == activations)
    #expect(estimate.perGPUBytes == 16 * p + activations + estimate.overheadBytes)
  }

  @Test func zeroShardsAndOffloads() throws {
    let spec = try Self.bundled("meta-llama/Llama-3.1-8B")
    func perGPU(_ stage: Int, _ offload: Workload.Training.Offload = .none) -> MemoryEstimate {
      let training = Workload.Training(zeroStage: stage, offload: offload, gradientCheckpointing: true)
      return MemoryModel.estimate(
        model: spec,
        workload: Workload(mode: .training(training), context: 4096, batch: 1, gpus: 8),
        weights: .converted(.float(.bf16))
      )
    }
    let p = spec.parameters
    let zero1 = perGPU(1)
    let zero2 = perGPU(2)
    #expect(zero1.perGPUBytes - zero2.perGPUBytes == 2 * p - (2 * p + 7) / 8)
    // ZeRO-Offload keeps on the host what its CPU Adam steps: fp32 master weights
    // and both moments (12 bytes per parameter) and the fp32 gradients (4).
    let offloaded = perGPU(2, .cpu)
    #expect(offloaded.cpuBytes == 16 * p)
    // ZeRO-3 offload moves the bf16 parameters there too (2 more).
    #expect(perGPU(3, .cpu).cpuBytes == 18 * p)
    // DeepSpeed 0.19.8's own formulas as a cross-check, one node of 8 GPUs:
    // stage 1/2 is 2P + 18P/G on the GPU and 4P·8·1.5 of RAM; with offload 2P and
    // P·max(4G, 16)·1.5.
    #expect(zero2.deepSpeedEstimatePerGPUBytes == 2 * p + Int64(Double(18 * p) / 8))
    #expect(zero2.deepSpeedEstimateCPUBytes == Int64(Double(p * 4 * 8) * 1.5))
    #expect(offloaded.deepSpeedEstimatePerGPUBytes == 2 * p)
    #expect(offloaded.deepSpeedEstimateCPUBytes == Int64(Double(p * 32) * 1.5))
    // Stage 3 counts the largest module's own parameters, which for Llama-3.1-8B is
    // the 128256 × 4096 embedding (lm_head is as large), not a decoder layer.
    #expect(spec.largestModuleParameters == 128_256 * 4096)
    let zero3 = perGPU(3, .cpu)
    #expect(zero3.deepSpeedEstimatePerGPUBytes == Int64(4 * 128_256 * 4096))
    #expect(zero3.deepSpeedEstimateCPUBytes == Int64(Double(p * 18) * 1.5))
  }

  @Test func loraTrainsOnlyAdapters() throws {
    let spec = try Self.bundled("meta-llama/Llama-3.1-8B")
    let training = Workload.Training(method: .lora, loraRank: 16, loraTargets: ["q_proj", "v_proj"])
    let estimate = MemoryModel.estimate(
      model: spec,
      workload: Workload(mode: .training(training), context: 1024, gpus: 1),
      weights: .converted(.float(.bf16))
    )
    // Per layer: q (4096 in, 4096 out) and v (4096 in, 1024 out) adapters of rank 16.
    let perLayer: Int64 = 16 * ((4096 + 4096) + (4096 + 1024))
    let expected: Int64 = 32 * perLayer
    #expect(estimate.trainableParameters == expected)
  }

  @Test func ggufModelFromAFile() throws {
    let folder = try SyntheticFiles.folder("gguf-model")
    let url = folder.appendingPathComponent("tiny.gguf")
    _ = try BinaryHeaderTests.llamaGGUF(url)
    let spec = try ModelLoader(environment: [:]).load(url.path)
    // 4 heads of 64 dims, 1 KV head: f16 KV = 2 layers × 1 × 64 × 2 × 2 bytes per token.
    #expect(KVCacheModel(attention: spec.attention, type: .f16).bytesPerToken() == 2 * 64 * 2 * 2)
    #expect(spec.converted(to: .int4).weightBytes == spec.weightBytes)  // GGUF stays as it is
  }
}

/// The DeepSpeed estimator figures shardplan prints, written to
/// Tests/Conformance/deepspeed-estimates.json (`RECORD_SNAPSHOTS=1` re-records it),
/// where Scripts/check-emitters.sh runs DeepSpeed's own functions on the same
/// models, built by transformers from the same configs, and compares to the byte.
@Suite("DeepSpeed's estimator")
struct DeepSpeedEstimatorTests {
  struct Case: Codable, Equatable {
    var model: String
    var zeroStage: Int
    var offload: String
    var gpusPerNode: Int
    var nodes: Int
    var totalParameters: Int64
    var largestLayerParameters: Int64
    var gpuBytes: Int64
    var cpuBytes: Int64
  }

  @Test func figuresAsRecordedForTheConsumerCheck() throws {
    var cases: [Case] = []
    for id in ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B-Instruct", "openai-community/gpt2"] {
      let spec = try MemoryModelTests.bundled(id)
      for zero in 1...3 {
        for offload in [Workload.Training.Offload.none, .cpu] {
          for (perNode, nodes) in [(1, 1), (8, 1), (8, 2)] {
            let training = Workload.Training(zeroStage: zero, offload: offload)
            let estimate = MemoryModel.estimate(
              model: spec,
              workload: Workload(
                mode: .training(training),
                context: 1024,
                gpus: perNode * nodes,
                nodes: nodes
              ),
              weights: .converted(.float(.bf16))
            )
            let gpu = try #require(estimate.deepSpeedEstimatePerGPUBytes)
            let cpu = try #require(estimate.deepSpeedEstimateCPUBytes)
            cases.append(
              Case(
                model: id,
                zeroStage: zero,
                offload: offload.rawValue,
                gpusPerNode: perNode,
                nodes: nodes,
                totalParameters: spec.parameters,
                largestLayerParameters: spec.largestModuleParameters,
                gpuBytes: gpu,
                cpuBytes: cpu
              )
            )
          }
        }
      }
    }
    // Hand-checked: GPT-2's largest own-parameter module is its 50257 × 768 token
    // embedding (the head is tied to it).
    #expect(try MemoryModelTests.bundled("openai-community/gpt2").largestModuleParameters == 50257 * 768)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let text = String(decoding: try encoder.encode(cases), as: UTF8.self) + "\n"
    let url = Repository.root.appendingPathComponent("Tests/Conformance/deepspeed-estimates.json")
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil {
      try text.write(to: url, atomically: true, encoding: .utf8)
      return
    }
    let stored = try String(contentsOf: url, encoding: .utf8)
    #expect(text == stored, "deepspeed-estimates.json is stale; RECORD_SNAPSHOTS=1 swift test re-records it")
  }
}

/// Sliding windows as each engine keeps them: vLLM and transformers always,
/// llama.cpp and SGLang per architecture (llama.cpp issue 3377: Mistral runs as
/// `llama`, which has none; SGLang's hybrid SWA pool lists a few architectures).
@Suite("Sliding windows per engine")
struct SlidingWindowPerEngineTests {
  @Test func mistralKeepsItsWindowOnlyWhereTheEngineDoes() throws {
    let mistral = try MemoryModelTests.bundled("mistralai/Mistral-7B-v0.1")
    func kv(_ engine: Engine, _ model: ModelSpec) -> Int64 {
      MemoryModel.estimate(
        model: model,
        workload: Workload(context: 32768, kvCache: .f16, engine: engine),
        weights: .asStored(model)
      ).kvCacheBytes
    }
    // 32 layers × 8 KV heads × 128 × (K + V) × 2 bytes = 128 KiB per token.
    let perToken: Int64 = 32 * 8 * 128 * 2 * 2
    #expect(kv(.vllm, mistral) == perToken * 4096)
    #expect(kv(.transformers, mistral) == perToken * 4096)
    #expect(kv(.llamaCpp, mistral) == perToken * 32768)
    #expect(kv(.sglang, mistral) == perToken * 32768)
    let (asRun, note) = mistral.asRun(by: .llamaCpp)
    #expect(asRun.attention.layers.allSatisfy { $0 == .full })
    #expect(note?.contains("issue 3377") == true)
    // gpt-oss keeps its 128-token windows on half its layers in both.
    let oss = try MemoryModelTests.bundled("openai/gpt-oss-20b")
    #expect(oss.asRun(by: .llamaCpp).1 == nil && oss.asRun(by: .sglang).1 == nil)
    #expect(oss.asRun(by: .sglang).0.attention.layers == oss.attention.layers)
    #expect(oss.attention.layers.contains(.sliding(window: 128)))
  }
}
