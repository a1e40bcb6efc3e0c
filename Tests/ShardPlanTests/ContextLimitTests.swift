import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// A context beyond the model's limit is refused where the engine refuses it
/// (vLLM, SGLang) and planned with a warning where it runs (llama.cpp,
/// transformers); the limit is derived as vLLM derives it.
@Suite("Context limits")
struct ContextLimitTests {
  static let loader = ModelLoader(environment: [:])

  static func read(_ json: String) throws -> ModelSpec {
    try HFConfigReader.read(Data(json.utf8), name: "test", source: "test/config.json")
  }

  static let base =
    #""model_type":"llama","hidden_size":256,"intermediate_size":512,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":1000,"torch_dtype":"bfloat16""#

  /// vLLM's derivation: the smallest length key; a linear or dynamic RoPE factor
  /// multiplies it; YaRN, llama3 and longrope configs are already scaled.
  @Test func limitsAsVLLMDerivesThem() throws {
    let plain = try Self.read("{\(Self.base),\"max_position_embeddings\":40960}")
    #expect(plain.maxContext == 40960 && plain.contextLimitSource == "max_position_embeddings 40960")
    let linear = try Self.read(
      "{\(Self.base),\"max_position_embeddings\":4096,\"rope_scaling\":{\"type\":\"linear\",\"factor\":4.0}}"
    )
    #expect(linear.maxContext == 16384)
    #expect(linear.contextLimitSource?.contains("RoPE linear factor 4") == true)
    let yarn = try Self.read(
      "{\(Self.base),\"max_position_embeddings\":131072,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":32768}}"
    )
    #expect(yarn.maxContext == 131072)
    // The plan says when a context relies on the scaling: past the 32768 trained positions.
    #expect(yarn.trainedContext == 32768)
    let planner = try Planner(graph: try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"]))
    let long = planner.plan(InferenceRequest(model: yarn, weights: .asStored(yarn), context: 65536))
    #expect(long.assumptions.contains { $0.contains("goes past the 32768 positions the model was trained on") })
    let smallest = try Self.read("{\(Self.base),\"max_position_embeddings\":8192,\"seq_length\":2048}")
    #expect(smallest.maxContext == 2048 && smallest.contextLimitSource == "seq_length 2048")
    // Bundled models: Qwen3-8B 40960, Llama 3.1 (llama3 RoPE, already scaled) 131072.
    #expect(try Self.loader.load("Qwen/Qwen3-8B").maxContext == 40960)
    #expect(try Self.loader.load("meta-llama/Llama-3.1-8B").maxContext == 131_072)
  }

  /// For every model of the generated-plan set and every engine, a context one
  /// token past the limit: refused by vLLM and SGLang (no layout, the reason says
  /// why), planned by llama.cpp and transformers with the warning in the assumptions.
  @Test func onePastTheLimitEverywhere() throws {
    let planner = try Planner(graph: try TopologyLoader().load(["8x-h100-sxm"]))
    var checked = 0
    for id in ["meta-llama/Llama-3.2-1B", "Qwen/Qwen3-8B", "openai-community/gpt2", "Qwen/Qwen3-30B-A3B"] {
      let model = try Self.loader.load(id)
      for engine in Engine.allCases {
        let request = InferenceRequest(
          model: model,
          weights: .asStored(model),
          context: model.maxContext + 1,
          kvCache: EngineProfile.profile(engine).defaultKVCache,
          engine: engine
        )
        let plan = planner.plan(request)
        checked += 1
        if engine == .vllm || engine == .sglang {
          #expect(plan.workloads.isEmpty && plan.verdict == .doesNotFit, "\(id) \(engine)")
          #expect(plan.reasons.contains { $0.contains("refuses to start") }, "\(id) \(engine)")
          #expect(throws: InputError.self) { try request.checkContext() }
          let placement = Placement.layers(stages: [[0]], layers: [0..<model.layers], replicas: [])
          #expect(planner.price(placement, for: .inference(request)) == nil)
        } else {
          #expect(!plan.workloads.isEmpty, "\(id) \(engine)")
          #expect(plan.assumptions.contains { $0.contains("warns and runs") }, "\(id) \(engine)")
        }
        // At the limit every engine plans it.
        var within = request
        within.context = model.maxContext
        #expect(within.contextRefusal == nil)
      }
    }
    #expect(checked == 16)
  }

  /// A layout file asking vLLM for more than the model allows gets a `model` finding.
  @Test func validateRefusesIt() throws {
    let yaml = """
      topology: 2x-rtx-pro-6000-blackwell
      workloads:
        - role: chat
          model: Qwen/Qwen3-8B
          engine: vllm
          context: 65536
          stages:
            - devices: [0]
              layers: 0-35
      """
    let report = LayoutValidator(models: Self.loader, topologies: TopologyLoader()).validate(yaml, source: "l.yaml")
    #expect(report.findings.contains { $0.code == .model && $0.message.contains("beyond") })
  }

  /// validate refuses what the engine refuses: tensor parallelism under llama.cpp,
  /// which splits whole layers (issue 12, item 9).
  @Test func validateRefusesTensorParallelLlamaCpp() throws {
    let yaml = """
      topology: 2x-rtx-3090-nvlink
      workloads:
        - role: chat
          model: meta-llama/Llama-3.1-8B
          engine: llama.cpp
          weights: q4_k_m
          kvCache: f16
          context: 4096
          tensorParallel: 2
          stages:
            - devices: [0, 1]
              layers: 0-31
      """
    let report = LayoutValidator(models: Self.loader, topologies: TopologyLoader()).validate(yaml, source: "l.yaml")
    #expect(report.findings.contains { $0.message.contains("tensorParallel must be 1") })
  }
}

/// Encoders (BERT-style embedding and reranking models): no KV cache, no decode;
/// their speed is encoding and they are served as pooling models.
@Suite("Encoders")
struct EncoderTests {
  @Test func bertIsPlannedAsAnEncoder() throws {
    let model = try ModelLoader(environment: [:]).load("google-bert/bert-base-cased")
    #expect(model.isEncoder && model.maxContext == 512)
    let planner = try Planner(graph: try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"]))
    let request = InferenceRequest(model: model, weights: .asStored(model), context: 512, concurrency: 16)
    let plan = planner.plan(request)
    let workload = try #require(plan.workloads.first)
    let p = workload.prediction
    #expect(workload.kvCache == nil)
    #expect(p.decodeTokensPerSecond == 0 && p.aggregateDecodeTokensPerSecond == 0)
    // Each copy with a sequence encodes a 512-token prompt per prefill time.
    let copies = Double(min(16, workload.dataParallel))
    let encode = try #require(p.encodeTokensPerSecond)
    #expect(abs(encode - copies * p.prefillTokensPerSecond) < 1e-6 * encode)
    #expect(plan.devices.allSatisfy { $0.kvCacheBytes == 0 })
    #expect(plan.tableText().contains("no decode (an encoder)"))
    // Decoders are untouched: a decoder's prediction has no encoding rate.
    let llama = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.2-1B")
    #expect(!llama.isEncoder)
    let decoder = planner.plan(InferenceRequest(model: llama, weights: .asStored(llama), context: 4096))
    #expect(decoder.workloads.first?.prediction.encodeTokensPerSecond == nil)
  }
}

/// The engine's own memory knob: offered as a fix within the safe range, honoured
/// by the plan, its layout file and its launch file.
@Suite("Memory fraction")
struct MemoryFractionTests {
  @Test func qwen72bAt128kFitsWithTheSmallestRaise() throws {
    let loader = ModelLoader(environment: [:])
    let model = try loader.load("Qwen/Qwen2.5-72B")
    let planner = try Planner(graph: try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"]))
    var request = InferenceRequest(model: model, weights: .asStored(model), context: 131_072)
    let short = planner.plan(request)
    #expect(short.verdict == .doesNotFit)
    let fix = try #require(short.fixes.first { if case .memoryFraction = $0.change { true } else { false } })
    guard case .memoryFraction(let fraction) = fix.change else { return }
    #expect(fraction > 0.9 && fraction <= EngineProfile.highestMemoryFraction)
    // The smallest raise in hundredths: one hundredth less does not fit.
    let less = try #require(
      Fix(.memoryFraction(((fraction - 0.01) * 100).rounded() / 100), summary: "").apply(to: request)
    )
    #expect(planner.plan(less).verdict == .doesNotFit)
    // The fix holds: planned again with it, the layout fits.
    request = try #require(fix.apply(to: request))
    let fitted = planner.plan(request)
    #expect(fitted.verdict != .doesNotFit)
    #expect(fitted.workloads.first?.memoryFraction == fraction)
    // Budgets are that fraction of each card.
    for device in fitted.devices {
      #expect(device.usableBytes == Int64(Double(device.capacityBytes) * fraction))
    }
    // Its layout file carries the fraction, and validate prices it the same.
    let yaml = fitted.layoutYAML()
    #expect(yaml.contains("memoryFraction: \(fraction)"))
    let report = LayoutValidator(models: loader, topologies: TopologyLoader()).validate(yaml, source: "l.yaml")
    #expect(report.findings.isEmpty)
    #expect(report.plan?.devices == fitted.devices)
    // Never past the safe range: the CUDA context keeps the rest of the card.
    #expect(EngineProfile.profile(.vllm).safeMemoryFraction(capacity: 8 << 30) <= 0.93)
    #expect(EngineProfile.profile(.vllm).safeMemoryFraction(capacity: 96 << 30) == 0.95)
  }
}

/// `--dtype` and `--quant` on a checkpoint that is already quantized start from the
/// unquantized model its config describes (issue: DeepSeek-V3 --dtype bf16 printed
/// the fp8 checkpoint's 641 GiB, and --quant int4 the same).
@Suite("Converting quantized checkpoints")
struct QuantizedCheckpointConversionTests {
  @Test func deepSeekV3InBF16AndInt4() throws {
    let stored = try ModelLoader(environment: [:]).load("deepseek-ai/DeepSeek-V3")
    #expect(stored.quantization == "fp8")
    let bf16 = stored.converted(to: .float(.bf16))
    // Every parameter in 2 bytes, and the 58 decoder layers' float32 score-correction
    // biases (256 each, buffers: 2 bytes more than bf16 each).
    #expect(bf16.weightBytes == 2 * bf16.parameters + 58 * 256 * 2)
    #expect(bf16.parameters == stored.parameters)
    #expect(bf16.notes.contains { $0.contains("dequantized") })
    // int4 (GPTQ g128) of the linears: far below the fp8 checkpoint's bytes.
    let int4 = stored.converted(to: .int4)
    #expect(Double(int4.weightBytes) < 0.6 * Double(stored.weightBytes))
    // The verdict follows: 8 × H100 cannot hold the fp8 checkpoint under vLLM's 90%,
    // and holds its int4 form.
    let planner = try Planner(graph: try TopologyLoader().load(["8x-h100-sxm"]))
    let asStored = planner.plan(InferenceRequest(model: stored, weights: .asStored(stored), context: 4096))
    #expect(asStored.verdict == .doesNotFit)
    let quantized = planner.plan(InferenceRequest(model: int4, weights: .converted(.int4), context: 4096))
    #expect(quantized.verdict != .doesNotFit)
  }
}

/// vLLM's "does not fit" says whether it would not start at all or start and queue
/// (issue 12, item 9).
@Suite("Will not start, or starts and queues")
struct StartOrQueueTests {
  @Test func theTwoCasesAreTold() throws {
    let model = try ModelLoader(environment: [:]).load("Qwen/Qwen2.5-72B")
    let planner = try Planner(graph: try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"]))
    let one = planner.plan(InferenceRequest(model: model, weights: .asStored(model), context: 131_072))
    #expect(one.reasons.contains { $0.contains("will not start") })
    let many = planner.plan(
      InferenceRequest(model: model, weights: .asStored(model), context: 32_768, concurrency: 64)
    )
    let held = try #require(
      many.fixes.compactMap { fix -> Int? in
        if case .concurrency(let n) = fix.change { n } else { nil }
      }.first
    )
    #expect(many.reasons.contains { $0.contains("would start and hold \(held) of the 64 sequences") })
    // And the number is right: that many fit, one more does not.
    let fits = planner.plan(
      InferenceRequest(model: model, weights: .asStored(model), context: 32_768, concurrency: held)
    )
    let over = planner.plan(
      InferenceRequest(model: model, weights: .asStored(model), context: 32_768, concurrency: held + 1)
    )
    #expect(fits.verdict != .doesNotFit && over.verdict == .doesNotFit)
  }
}
